"""`python -m handlers.cli`, for a source tree without the `ses-guard` script."""

import sys

from handlers.cli.command import main

if __name__ == "__main__":  # pragma: no cover - the installed entry point is `ses-guard`, tested through main()
    sys.exit(main())
