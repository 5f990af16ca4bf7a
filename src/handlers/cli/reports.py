"""`ses-guard reports ingest FILE...`: DMARC aggregate reports from local files (report emails, .xml, .xml.gz or
.zip) counted into the per-domain, per-day aggregates, in a local directory or in the report bucket."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from core.kernel.errors import ConfigError, SesGuardError
from core.kernel.settings import Settings
from handlers.cli.aws import check_credentials, open_session

if TYPE_CHECKING:
    from core.run.ingest import Ingested
    from core.run.ports import RuaStore

DESCRIPTION = "Count DMARC aggregate reports from local files into the aggregates the audit reads."
EXIT_STATUS = """\
each FILE gets one line: accepted N reports, duplicate (every report in it was counted before), rejected: the
reason, or error: what failed (ingesting it again is safe: nothing is counted twice).

exit status:
  0  every file was accepted or a duplicate
  1  a file was rejected or could not be ingested
  2  usage or configuration error (no --store and no REPORT_BUCKET, an unknown profile, no credentials); nothing
     was read
"""

OK, FAILED, USAGE = 0, 1, 2


def add_parser(commands: Any) -> None:
    """The `reports` command and its `ingest` action, on the CLI's subcommands."""
    reports = commands.add_parser("reports", help="DMARC aggregate reports", description=DESCRIPTION)
    actions = reports.add_subparsers(dest="action", required=True, metavar="ACTION")
    ingest = actions.add_parser(
        "ingest",
        help="count aggregate reports from local files",
        description=DESCRIPTION,
        epilog=EXIT_STATUS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ingest.add_argument("files", nargs="+", metavar="FILE", help="a report email, or a .xml, .xml.gz or .zip report")
    where = ingest.add_mutually_exclusive_group()
    where.add_argument("--store", metavar="DIR", help="keep the aggregates under DIR/dmarc/ (created if missing)")
    where.add_argument("--profile", help="AWS profile for the report bucket (default: REPORT_BUCKET's usual chain)")


def run(args: argparse.Namespace, out: TextIO, err: TextIO, environ: Mapping[str, str] | None = None) -> int:
    # Imported here: the parser and its XML library are needed by this command only, not by every `ses-guard audit`.
    from core.adapters.rua import read_file
    from core.run.ingest import ingest_source

    try:
        store = _store(args, os.environ if environ is None else environ)
    except SesGuardError as error:
        print(f"ses-guard: {error}", file=err)
        return USAGE
    status = OK
    for name in args.files:
        outcome = ingest_source(name, lambda source: read_file(Path(source)), store)
        print(f"{name}: {describe(outcome)}", file=out)
        if outcome.reason or outcome.error:
            status = FAILED
    return status


def describe(outcome: Ingested) -> str:
    if outcome.error:
        return f"error: {outcome.error}"
    if outcome.reason:
        return f"rejected: {outcome.reason}"
    if not outcome.added:
        return "duplicate"
    text = f"accepted {outcome.added} report{'s' if outcome.added != 1 else ''}"
    return text + (f" ({outcome.duplicates} counted before)" if outcome.duplicates else "")


def _store(args: argparse.Namespace, environ: Mapping[str, str]) -> RuaStore:
    """A local directory when --store names one, else the report bucket; checked before any file is read."""
    from core.adapters.rua import FileAggregates, open_aggregates

    if args.store:
        root = Path(args.store)
        if root.exists() and not root.is_dir():
            raise ConfigError(f"--store: {root} is not a directory")
        return FileAggregates(root)
    if not environ.get("REPORT_BUCKET", "").strip():
        raise ConfigError("no store: pass --store DIR, or set REPORT_BUCKET to count into the report bucket")
    session = open_session(args.profile)
    region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or session.region_name
    if not region:
        raise ConfigError("no AWS region for REPORT_BUCKET: set AWS_REGION, or give the profile one")
    settings = Settings.from_env({**environ, "AWS_REGION": region})
    check_credentials(session)
    return open_aggregates(session, settings.report_bucket)
