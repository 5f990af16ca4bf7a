"""`ses-guard audit`: parse, check the AWS configuration, run once, print the chosen view, exit with a status a
script can rely on."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TextIO

import boto3

from core.adapters.wiring import AwsWiring
from core.kernel.errors import ConfigError, SesGuardError
from core.kernel.events import RunRequest, parse_event
from core.kernel.models import RunError, RunSummary, Severity
from core.kernel.settings import Settings
from core.report.formats import FORMATS, render
from core.run.deadline import Deadline
from core.run.service import execute
from handlers.cli import org, reports
from handlers.cli.aws import check_credentials, home_region, open_session
from handlers.cli.progress import progress_for

DESCRIPTION = "Audit every Amazon SES identity's DKIM, MAIL FROM/SPF and DMARC; create the missing records on request."
EXIT_STATUS = """\
exit status:
  0  the run finished without errors (and, with --fail-on, nothing unfixed at or above that severity remains)
  1  the run finished, but part of it failed (a region, a zone, the report store): see the error lines
  2  usage or configuration error (an unknown option, profile or format, no credentials, no region), or an
     --identity that matches no identity in the audited regions; nothing was changed
  3  --fail-on: an unfixed finding at or above that severity remains (suppressed findings do not count)

The function's settings apply here too (AUDIT_REGIONS, EXCLUDE_IDENTITIES, DNS_NAMESERVERS, ...), except DRY_RUN:
only --apply writes. NO_COLOR (any non-empty value) turns colour off; it is off anyway when stdout is not a terminal.
"""

OK, RUN_ERRORS, USAGE, FINDINGS = 0, 1, 2, 3


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    out, err = stdout or sys.stdout, stderr or sys.stderr
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            args = _parser().parse_args(argv)
    except SystemExit as exit_:  # argparse has printed the usage error, the help or the version
        return exit_.code if isinstance(exit_.code, int) else USAGE
    if args.command == "reports" or org.wanted(args):  # `reports`, and `audit --org`, run on their own
        command: Callable[[argparse.Namespace, TextIO, TextIO], int] = (
            reports.run if args.command == "reports" else org.run
        )
        return command(args, out, err)
    try:
        plan = _prepare(args, os.environ)
    except SesGuardError as error:
        _say(err, str(error))
        return USAGE
    progress = progress_for(err)
    try:
        summary = execute(
            plan.request,
            plan.settings,
            AwsWiring(plan.settings, plan.session, state_file=plan.state_file, bucket_state=False),
            Deadline.unlimited(),
            run_id=str(uuid.uuid4()),
            progress=progress,
        )
    finally:
        if progress is not None:
            progress.close()
    unmatched = unmatched_identities(summary, plan.request)
    if unmatched:
        for unmatched_error in unmatched:
            _say(err, unmatched_error.message)
        return USAGE
    try:
        _deliver(summary, args, plan, out, err)
    except OSError as error:
        _say(err, f"cannot write {error.filename}: {error.strerror}")
        return USAGE
    return status(summary, args.fail_on)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ses-guard",
        description=DESCRIPTION,
        epilog=EXIT_STATUS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"ses-guard {package_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser(
        "audit",
        help="check every SES identity's DKIM, MAIL FROM/SPF and DMARC",
        description=DESCRIPTION,
        epilog=EXIT_STATUS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument(
        "--region",
        action="append",
        dest="regions",
        metavar="REGION",
        help="region to audit (repeat; `all`: every SES region the account has enabled; default: AUDIT_REGIONS, "
        "else the profile's)",
    )
    run.add_argument(
        "--identity",
        action="append",
        dest="identities",
        metavar="NAME",
        help="identity name or glob, e.g. '*.example.com' (repeat); one that matches nothing is an error",
    )
    run.add_argument("--profile", help="AWS profile (default: AWS_PROFILE, else the usual boto3 chain)")
    view = run.add_mutually_exclusive_group()
    view.add_argument("--format", choices=FORMATS, help="how to print the report (default: table)")
    view.add_argument("--json", action="store_const", dest="format", const="json", help="same as --format json")
    run.set_defaults(format="table")
    run.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE instead of standard output")
    run.add_argument("--html", metavar="FILE", help="also write the full report as one self-contained HTML page")
    mode = run.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="plan the Route 53 changes, write nothing (default)")
    mode.add_argument("--apply", action="store_true", help="create the missing records the plan lists")
    run.add_argument(
        "--state",
        metavar="FILE",
        help="remember findings in FILE (JSON) between runs: mark each new or open, list what was resolved",
    )
    run.add_argument(
        "--fail-on",
        type=str.upper,
        choices=[s.value for s in Severity],
        metavar="SEVERITY",
        help="exit with status 3 while an unfixed finding at or above LOW, MEDIUM or HIGH remains",
    )
    org.add_arguments(run)
    reports.add_parser(commands)
    return parser


def package_version() -> str:
    try:
        return version("ses-guard")
    except PackageNotFoundError:
        return "(version unknown: not installed, run from a source tree)"


@dataclass(frozen=True)
class _Plan:
    session: boto3.session.Session
    settings: Settings
    request: RunRequest
    html: Callable[[RunSummary], str] | None
    state_file: Path | None = None


def _prepare(args: argparse.Namespace, environ: Mapping[str, str]) -> _Plan:
    """Everything that can be wrong before the run, checked before the run: nothing is read or written yet."""
    session = open_session(args.profile)
    env = {**environ, "AWS_REGION": home_region(session, args.regions or (), environ)}
    settings = Settings.from_env(env)
    # From a terminal, writing is asked for explicitly; DRY_RUN does not turn it on.
    event: dict[str, object] = {"dry_run": not args.apply}
    if args.regions:
        event["regions"] = args.regions
    if args.identities:
        event["identities"] = args.identities
    request = parse_event(event)
    for option, path in (("--output", args.output), ("--html", args.html), ("--state", args.state)):
        if path:
            _check_writable(option, Path(path))
    html = _html_renderer() if args.html else None
    check_credentials(session)
    return _Plan(session, settings, request, html, Path(args.state) if args.state else None)


def _check_writable(option: str, path: Path) -> None:
    folder = path.parent
    if path.is_dir():
        raise ConfigError(f"{option}: {path} is a directory")
    if not folder.is_dir():
        raise ConfigError(f"{option}: no directory {folder}")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise ConfigError(f"{option}: {path} is not writable")


def _html_renderer() -> Callable[[RunSummary], str]:
    # Imported only when asked for: the page needs Jinja2, which nothing else in the CLI does.
    try:
        from core.report.html import render_html
    except ImportError as err:
        raise ConfigError(f"--html: the HTML report cannot be rendered here ({err})") from None
    return render_html


def unmatched_identities(summary: RunSummary, request: RunRequest) -> list[RunError]:
    """The run's errors about a requested name or glob that matched nothing (the audit names each, scope `run`)."""
    requested = set(request.identities or ())
    return [e for e in summary.errors if e.scope == "run" and e.subject in requested]


def _deliver(summary: RunSummary, args: argparse.Namespace, plan: _Plan, out: TextIO, err: TextIO) -> None:
    if args.output:
        Path(args.output).write_text(render(summary, args.format) + "\n", encoding="utf-8")
        _note(err, f"{args.format} report written to {args.output}")
    else:
        print(render(summary, args.format, colour=wants_colour(out, os.environ)), file=out)
    if plan.html is not None:
        Path(args.html).write_text(plan.html(summary), encoding="utf-8")
        _note(err, f"HTML report written to {args.html}")


def wants_colour(stream: TextIO, env: Mapping[str, str]) -> bool:
    """Colour for a terminal only, and never when NO_COLOR is set (https://no-color.org) or the terminal is dumb."""
    return stream.isatty() and not env.get("NO_COLOR") and env.get("TERM") != "dumb"


def status(summary: RunSummary, fail_on: str | None) -> int:
    if summary.errors:
        return RUN_ERRORS
    threshold = Severity(fail_on).rank if fail_on else None
    # A suppressed finding is accepted for now (until its rule expires): it must not fail a pipeline.
    unfixed = [f for f in summary.findings if not f.fixed and f.suppressed is None]
    if threshold is not None and any(f.severity.rank >= threshold for f in unfixed):
        return FINDINGS
    return OK


def _say(stream: TextIO, message: str) -> None:
    print(f"ses-guard: {message}", file=stream)


def _note(stream: TextIO, message: str) -> None:
    """A note for a person watching; scripts reading stderr get only errors."""
    if stream.isatty():
        _say(stream, message)
