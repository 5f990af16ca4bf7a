"""`ses-guard`, the command line: the Lambda's run with the caller's AWS profile, printed for people or machines."""

from handlers.cli.command import main

__all__ = ["main"]
