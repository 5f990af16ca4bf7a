"""`make report-png`: docs/report.png, the HTML report of the demo account as headless Chromium shows it.

The same path as tests/integration/test_html_report.py: the real handler stores the page in a (local) report bucket,
and the page read back from there is what is shot.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pytest
from tests import chromium, scenario
from tests.lambda_context import LambdaContext

from tools.demo import local_world

OUT = Path(__file__).parents[1] / "docs" / "report.png"
BUCKET = "ses-guard-reports"


def main() -> int:
    with local_world() as (aws, dns), tempfile.TemporaryDirectory() as folder, pytest.MonkeyPatch.context() as patch:
        from handlers import audit  # after local_world: Powertools reads its settings when the module loads

        scenario.build(aws, dns)
        s3 = aws.client("s3")
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": scenario.EU})
        patch.setenv("REPORT_BUCKET", BUCKET)
        audit.load_settings.cache_clear()
        summary = audit.handler({"dry_run": True}, LambdaContext())
        key = summary["report"].removeprefix(f"s3://{BUCKET}/").removesuffix(".json") + ".html"
        page = Path(folder) / "report.html"
        page.write_bytes(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
        chromium.screenshot(page, OUT, width=1280, height=1600)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
