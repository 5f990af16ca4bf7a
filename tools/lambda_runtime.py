"""`make lambda-check`: the function `sam build` produced, run in the Lambda runtime without Docker.

The Lambda Runtime Interface Emulator that ships inside the SAM CLI package runs `python -m awslambdaric <handler>`
on python3.13 from its own virtual environment, which holds the runtime interface client and nothing the function
imports: with the build directory as the only path entry of the function (as /var/task in Lambda), every module the
function loads must come from the build. The function gets the environment the template gives it, for two
deployments (DryRun=true, the default, and DryRun=false), pointing at the embedded local AWS (moto's server) and DNS
server of `make demo`, seeded afresh with the demo account before each invocation. Each `events/*.json` is sent over
the emulator's HTTP API, and the answer is checked: the documented run summary, the findings the account holds, the
report in S3 and the notification, Route 53 untouched by a dry run and holding exactly the applied changes after a
live one, and a live event refused, before any AWS call, by a deployment that only plans.

Usage: python -m tools.lambda_runtime [--build .aws-sam/build] [--runtime-venv .venv-lambda] [--sam-venv .venv-sam]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import IO, Any

import yaml
from tests import scenario
from tests.dnsserver import LocalDns
from tests.fixtures_aws import LocalAws, received, subscribed_queue

from tools import lambda_checks as checks
from tools.demo import local_world
from tools.lambda_template import Function, Stack, TemplateError, function, parameter_values

ROOT = Path(__file__).resolve().parents[1]
FUNCTION = "AuditFunction"
STACK = "ses-guard"
ACCOUNT = "123456789012"  # moto's account
REGION = scenario.EU
# A run of the demo account takes seconds; an invocation still running after this is stuck, whatever the timeout.
INVOKE_WAIT_SECONDS = 300
START_WAIT_SECONDS = 30


@dataclass
class Results:
    passed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def check(self, what: str, problems: list[str]) -> bool:
        if problems:
            self.failed.append(what)
            print(f"FAIL  {what}")
            for problem in problems:
                print(f"        {problem}")
            return False
        self.passed.append(what)
        print(f"ok    {what}")
        return True

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"note  {text}")


# --- the runtime's own virtual environment --------------------------------------------------------------------------


def shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned_names(requirements: Path) -> set[str]:
    lines = (line.split("#", 1)[0].strip() for line in requirements.read_text().splitlines())
    return {_normalised(line.split("==", 1)[0]) for line in lines if line}


@dataclass(frozen=True)
class RuntimeVenv:
    python: Path
    stdlib: PurePath
    site_packages: tuple[PurePath, ...]

    @classmethod
    def at(cls, venv: Path) -> RuntimeVenv:
        python = venv / "bin" / "python"
        script = "import json, sysconfig; print(json.dumps(sysconfig.get_paths()))"
        paths = json.loads(subprocess.run([python, "-c", script], check=True, capture_output=True, text=True).stdout)
        sites = tuple(dict.fromkeys(PurePath(paths[k]) for k in ("purelib", "platlib")))
        return cls(python, PurePath(paths["stdlib"]), sites)

    def distributions(self) -> dict[str, Path]:
        """Installed distributions (normalised name -> dist-info folder)."""
        found = {}
        for site in self.site_packages:
            for info in Path(site).glob("*.dist-info"):
                found[_normalised(info.name.removesuffix(".dist-info").split("-", 1)[0])] = info
        return found

    def top_levels(self, info: Path) -> set[str]:
        names = set()
        for line in (info / "RECORD").read_text().splitlines():
            path = PurePath(line.split(",", 1)[0])
            if path.parts and not path.parts[0].endswith(".dist-info") and path.parts[0] != "..":
                names.add(checks.top_level(path))
        return names


def venv_problems(venv: RuntimeVenv, pinned: set[str], build: Path) -> tuple[list[str], frozenset[str]]:
    """The runtime venv holds the pinned runtime interface client and pip, nothing the build also provides."""
    installed = venv.distributions()
    problems = [f"{name} is installed but not pinned in requirements-lambda.txt"
                for name in sorted(set(installed) - pinned - {"pip"})]  # fmt: skip
    problems += [f"{name} is pinned but not installed (make lambda-venv)" for name in sorted(pinned - set(installed))]
    client = frozenset(n for name in pinned & set(installed) for n in venv.top_levels(installed[name]))
    built = {checks.top_level(p.relative_to(build)) for p in build.iterdir()}
    problems += [f"{name} is both in the runtime venv and in the build: the import could come from either"
                 for name in sorted(client & built)]  # fmt: skip
    return problems, client


# --- the build ------------------------------------------------------------------------------------------------------


def native_modules(build: Path) -> dict[Path, str]:
    """Every extension module in the build and the machine its code is for."""
    found = {}
    for path in sorted(build.rglob("*.so")):
        with path.open("rb") as handle:
            found[path] = checks.elf_machine(handle.read(20))
    return found


def native_problems(modules: Mapping[Path, str], fn: Function, build: Path) -> list[str]:
    return [
        f"{path.relative_to(build)} is {machine or 'not ELF'} code, the function runs on {fn.machine}"
        for path, machine in modules.items()
        if machine != fn.machine
    ] + [
        f"{path.relative_to(build)} is not built for {fn.runtime} ({fn.python_tag} or abi3)"
        for path in modules
        if fn.python_tag not in path.name and ".abi3." not in path.name
    ]


def stale_files(build: Path) -> list[str]:
    """Source files of the app that differ from their copies in the build (an old `sam build`)."""
    source = ROOT / "src"
    differing = []
    for path in sorted([*source.glob("core/**/*.py"), *source.glob("handlers/**/*.py")]):
        built = build / path.relative_to(source)
        if not built.exists() or built.read_bytes() != path.read_bytes():
            differing.append(str(path.relative_to(ROOT)))
    return differing


# --- local AWS, DNS and X-Ray ---------------------------------------------------------------------------------------


def stand_ins(template: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """Local stand-ins for the topics and buckets the template creates: logical id -> (type, Ref value)."""
    made = {}
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") == "AWS::SNS::Topic":
            made[logical_id] = ("topic", f"arn:aws:sns:{REGION}:{ACCOUNT}:{STACK}-{logical_id}")
        elif resource.get("Type") == "AWS::S3::Bucket":
            made[logical_id] = ("bucket", f"{STACK}-{logical_id}".lower())
    return made


@dataclass
class World:
    aws: LocalAws
    dns: LocalDns
    resources: Mapping[str, tuple[str, str]]

    def fresh(self, topic_arn: str) -> str:
        """The demo account seeded anew, the stack's topics and buckets created; returns a queue on the topic."""
        self.aws.reset()
        self.dns.reset()
        scenario.build(self.aws, self.dns)
        for kind, value in self.resources.values():
            if kind == "topic":
                self.aws.client("sns", REGION).create_topic(Name=value.rsplit(":", 1)[-1])
            else:
                self.aws.client("s3", REGION).create_bucket(
                    Bucket=value, CreateBucketConfiguration={"LocationConstraint": REGION}
                )
        return subscribed_queue(self.aws, topic_arn)

    def zones(self) -> dict[tuple[str, str, str], tuple[int, tuple[str, ...]]]:
        client = self.aws.client("route53", REGION)
        held = {}
        for zone in client.list_hosted_zones()["HostedZones"]:
            pages = client.get_paginator("list_resource_record_sets").paginate(HostedZoneId=zone["Id"])
            for page in pages:
                for r in page["ResourceRecordSets"]:
                    values = tuple(v["Value"] for v in r.get("ResourceRecords", []))
                    held[(zone["Id"], r["Name"], r["Type"])] = (r.get("TTL", 0), values)
        return held

    def report(self, uri: str) -> Any:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        body = self.aws.client("s3", REGION).get_object(Bucket=bucket, Key=key)["Body"].read()
        return json.loads(body)


# --- the emulator ---------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def rie_binary(sam_venv: Path) -> Path:
    name = checks.rie_name(platform.machine())
    found = sorted(sam_venv.glob(f"lib/python3*/site-packages/samcli/local/rapid/{name}"))
    if not found:
        raise FileNotFoundError(f"{name} not found in {sam_venv} (make sam-venv installs the SAM CLI)")
    return found[-1]


def runtime_environment(fn: Function, build: Path, home: Path, aws_endpoint: str) -> dict[str, str]:
    """The function's environment as Lambda sets it, with loopback AWS, fake credentials and nothing of this shell."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "LAMBDA_TASK_ROOT": str(build),
        "PYTHONPATH": str(build),
        # /var/task is read-only in Lambda: nothing is compiled into the artifact that `sam deploy` ships.
        "PYTHONDONTWRITEBYTECODE": "1",
        # Every file a module is loaded from, on the runtime's stderr: how the check knows where imports came from.
        "PYTHONVERBOSE": "1",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{fn.runtime}",
        "AWS_LAMBDA_FUNCTION_NAME": fn.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory),
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(fn.timeout),
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "lambda-check",
        "AWS_SECRET_ACCESS_KEY": "lambda-check",
        "AWS_SESSION_TOKEN": "lambda-check",
        "AWS_ENDPOINT_URL": aws_endpoint,
        "AWS_CONFIG_FILE": str(home / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "aws-credentials"),
        # As Lambda sets it for Tracing: Active. The emulator passes no trace id to the runtime, so the X-Ray SDK
        # discards the function's subsegments ("Lambda worker still initializing") and sends nothing.
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
    }
    return {**env, **fn.environment}


class Emulator:
    """aws-lambda-rie running the function's runtime, on two free loopback ports, for one deployment."""

    def __init__(self, rie: Path, venv: RuntimeVenv, fn: Function, build: Path, env: Mapping[str, str]) -> None:
        self.port, self.api_port = free_port(), free_port()
        self.command = [
            str(rie),
            "--runtime-interface-emulator-address", f"127.0.0.1:{self.port}",
            "--runtime-api-address", f"127.0.0.1:{self.api_port}",
            "--log-level", "info",
            str(venv.python), "-m", "awslambdaric", fn.handler,
        ]  # fmt: skip
        self.build, self.env = build, dict(env)
        self.log: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")  # noqa: SIM115
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Emulator:
        self.process = subprocess.Popen(
            self.command,
            cwd=self.build,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + START_WAIT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the emulator exited with status {self.process.returncode}:\n{self.output()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return self
            time.sleep(0.1)
        raise RuntimeError(f"the emulator did not listen on 127.0.0.1:{self.port} within {START_WAIT_SECONDS} s")

    def __exit__(self, *exc: object) -> None:
        if self.process is None:
            return
        # The emulator and the runtime it started share a process group of their own.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def invoke(self, payload: bytes) -> tuple[int, Any]:
        url = f"http://127.0.0.1:{self.port}/2015-03-31/functions/function/invocations"
        request = urllib.request.Request(url, data=payload, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=INVOKE_WAIT_SECONDS) as response:  # noqa: S310 - loopback
                status, body = response.status, response.read()
        except urllib.error.HTTPError as err:
            status, body = err.code, err.read()
        try:
            return status, json.loads(body)
        except ValueError:
            return status, body.decode("utf-8", "replace")

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()


def log_tail(text: str, lines: int = 40) -> str:
    """The emulator's and the function's own lines, without Python's import trace."""
    kept = [line for line in text.splitlines() if not line.startswith(("# ", "import "))]
    return "\n".join(kept[-lines:])


# --- one invocation -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Deployment:
    dry_run: bool
    function: Function
    regions: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"DryRun={str(self.dry_run).lower()}"


def check_event(path: Path, deployment: Deployment, emulator: Emulator, world: World, results: Results) -> None:
    payload = path.read_bytes()
    event = json.loads(payload)
    outcome = checks.expected_outcome(event, deployment.dry_run)
    env = deployment.function.environment
    queue = world.fresh(env["FINDINGS_TOPIC_ARN"])
    before, calls, queries = world.zones(), len(world.aws.calls), world.dns.queries_received
    started = time.monotonic()
    status, answer = emulator.invoke(payload)
    seconds = time.monotonic() - started
    what = f"{deployment.label:<13} {shown(path)}: {outcome.value}"
    if outcome is checks.Outcome.REFUSED:
        problems = refused_problems(status, answer, checks.refusal_subject(event))
        problems += [f"{n} AWS calls were made" for n in [len(world.aws.calls) - calls] if n]
        problems += [f"{n} DNS queries were made" for n in [world.dns.queries_received - queries] if n]
        problems += checks.zone_problems(before, world.zones(), [])
        results.check(f"{what}, {seconds:.1f} s", problems)
        return
    problems = checks.summary_problems(answer) if status == 200 else [f"HTTP {status}: {answer}"]
    if not problems:
        problems = run_problems(answer, outcome, checks.Scope.of(event, deployment.regions), world, before)
        problems += [] if received(world.aws, queue, 1) else ["no notification reached the findings topic"]
    if status != 200 or (isinstance(answer, dict) and "errorType" in answer):
        problems.append(f"the function failed; the runtime's last lines:\n{log_tail(emulator.output())}")
    counted = answer.get("counts", {}) if isinstance(answer, dict) else {}
    detail = (f", {answer.get('identities_audited')} identities, {counted.get('findings')} findings, "
              f"{counted.get('changes_applied')} changes applied") if not problems else ""  # fmt: skip
    results.check(f"{what}{detail}, {seconds:.1f} s", problems)


def refused_problems(status: int, answer: Any, subject: str) -> list[str]:
    if not isinstance(answer, dict) or "errorType" not in answer:
        return [f"expected the event to be refused, got HTTP {status}: {str(answer)[:300]}"]
    message = str(answer.get("errorMessage", ""))
    if str(answer["errorType"]).startswith(("Runtime.", "Sandbox.")) or subject not in message:
        return [f"expected ses-guard to refuse the event, naming {subject}; got {answer['errorType']}: {message}"]
    return []


def run_problems(
    summary: dict[str, Any], outcome: checks.Outcome, scope: checks.Scope, world: World, before: checks.Zones
) -> list[str]:
    problems = []
    if summary["dry_run"] is not (outcome is checks.Outcome.DRY):
        problems.append(f"dry_run is {summary['dry_run']} in a {outcome.value}")
    if set(summary["regions"]) != set(scope.regions):
        problems.append(f"regions {summary['regions']}, expected {list(scope.regions)}")
    if summary["errors"]:
        problems += [f"error: {e['scope']} {e['subject']}: {e['message']}" for e in summary["errors"]]
    if summary["truncated"]:
        problems.append("the summary of a 12-identity account is truncated")
    problems += checks.findings_problems(summary, scope.expected(scenario.EXPECTED))
    changes = summary["changes"]
    applied = [c for c in changes if c["applied"]]
    if outcome is checks.Outcome.DRY and applied:
        problems.append(f"{len(applied)} changes applied in a dry run")
    if outcome is checks.Outcome.LIVE and changes and not applied:
        problems.append(f"a live run applied none of its {len(changes)} changes")
    problems += checks.zone_problems(before, world.zones(), changes)
    problems += report_problems(summary, world)
    return problems


def report_problems(summary: Mapping[str, Any], world: World) -> list[str]:
    if not summary["report"].startswith("s3://"):
        return [f"no report stored (report is {summary['report']!r})"]
    report = world.report(summary["report"])
    if report.get("run_id") != summary["run_id"] or len(report.get("findings", [])) != summary["counts"]["findings"]:
        return [f"the stored report {summary['report']} is not this run's full report"]
    return []


# --- what the runtime imported and what it could not load -----------------------------------------------------------


def import_problems(origin: checks.Origins, fn: Function) -> list[str]:
    handler_module = fn.handler.rsplit(".", 1)[0].split(".", 1)[0]
    problems = [f"imported from outside the build and the runtime: {path}" for path in origin.stray]
    if handler_module not in origin.from_build:
        problems.append(f"no module of {handler_module} was loaded from the build: the import trace is missing")
    if "awslambdaric" not in origin.from_client:
        problems.append("awslambdaric was not loaded from the runtime venv: the import trace is missing")
    return problems


def native_note(
    modules: Mapping[Path, str], origin: checks.Origins, loaded: set[str], fn: Function, build: Path
) -> str:
    """What became of the build's extension modules in the emulated run."""
    if not modules:
        return "the build holds no extension modules: the same code runs here as in Lambda"
    host = platform.machine()
    lines = []
    for path, machine in modules.items():
        package = checks.top_level(path.relative_to(build))
        used = "imported" if package in origin.from_build else "not imported by this run"
        state = "loaded" if str(path) in loaded else "not loaded"
        lines.append(f"{path.relative_to(build)} ({machine}): {state}; {package} {used}")
    if checks.rie_name(host) == checks.rie_name(fn.machine):
        return "extension modules of the build on this host, as in Lambda:\n        " + "\n        ".join(lines)
    return (
        f"the build's extension modules are {fn.machine} code, as the function's architecture needs; this {host} host "
        "cannot load them, so their packages ran their pure-Python code here (in Lambda the extensions load):"
        "\n        " + "\n        ".join(lines)
    )


# --- the whole check ------------------------------------------------------------------------------------------------


def deployment_function(template: Mapping[str, Any], dry_run: bool, dns: LocalDns) -> Deployment:
    regions = (scenario.EU, scenario.US)
    overrides = {
        "DryRun": str(dry_run).lower(),
        "AuditRegions": ",".join(regions),
        "DnsNameservers": dns.nameserver,
        # The demo account is small: pacing SES at its real 1 request/second would only make the check slow.
        "SesMaxRps": "50",
    }
    resources = {logical_id: value for logical_id, (_, value) in stand_ins(template).items()}
    stack = Stack(STACK, REGION, ACCOUNT, parameter_values(template, overrides), resources)
    return Deployment(dry_run, function(template, FUNCTION, stack), regions)


def run(build_root: Path, runtime_venv: Path, sam_venv: Path, events: list[Path], log_dir: Path | None) -> Results:
    results = Results()
    build = build_root / FUNCTION
    template = yaml.safe_load((build_root / "template.yaml").read_text())
    venv = RuntimeVenv.at(runtime_venv)
    problems, client = venv_problems(venv, pinned_names(ROOT / "requirements-lambda.txt"), build)
    results.check(f"runtime venv {runtime_venv}: the runtime interface client only", problems)
    rie = rie_binary(sam_venv)
    stale = stale_files(build)
    if stale:
        results.note(f"{len(stale)} source files differ from the build (run make sam-build): {', '.join(stale[:5])}")
    roots = checks.Roots(PurePath(build), (venv.stdlib,), venv.site_packages, client)
    modules = native_modules(build)
    with local_world() as (aws, dns), tempfile.TemporaryDirectory() as home:
        world = World(aws, dns, stand_ins(template))
        for dry_run in (True, False):
            deployment = deployment_function(template, dry_run, dns)
            if dry_run:
                results.check(
                    f"build {shown(build)}: native code for "
                    f"{deployment.function.runtime} on {deployment.function.machine}",
                    native_problems(modules, deployment.function, build),
                )
            env = runtime_environment(deployment.function, build, Path(home), aws.endpoint)
            with Emulator(rie, venv, deployment.function, build, env) as emulator:
                print(f"\n{deployment.label}: {rie.name} on 127.0.0.1:{emulator.port}, {venv.python} -m awslambdaric "
                      f"{deployment.function.handler}, only {build} importable")  # fmt: skip
                for path in events:
                    check_event(path, deployment, emulator, world, results)
                log = emulator.output()
            if log_dir is not None:
                log_dir.mkdir(parents=True, exist_ok=True)
                (log_dir / f"{deployment.label}.log").write_text(log)
            files = checks.imported_files(log.splitlines())
            origin = checks.origins(files, roots)
            results.check(
                f"{deployment.label:<13} the function's modules came from the build only "
                f"({', '.join(sorted(origin.from_build))}), the runtime client's from {runtime_venv.name}",
                import_problems(origin, deployment.function),
            )
        results.note(native_note(modules, origin, files, deployment.function, build))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.lambda_runtime", description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", type=Path, default=ROOT / ".aws-sam" / "build", help="sam build's --build-dir")
    parser.add_argument("--runtime-venv", type=Path, default=ROOT / ".venv-lambda")
    parser.add_argument("--sam-venv", type=Path, default=ROOT / ".venv-sam")
    parser.add_argument("--events", type=Path, default=ROOT / "events")
    parser.add_argument("--log-dir", type=Path, help="keep each deployment's emulator and runtime output here")
    args = parser.parse_args(argv)
    build = args.build.resolve()
    if not (build / FUNCTION).is_dir() or not (build / "template.yaml").is_file():
        print(f"lambda check: no {FUNCTION} built in {build}: run `make sam-build` first", file=sys.stderr)
        return 2
    events = sorted(args.events.resolve().glob("*.json"))
    if not events:
        print(f"lambda check: no events in {args.events}", file=sys.stderr)
        return 2
    try:
        results = run(build, args.runtime_venv.resolve(), args.sam_venv.resolve(), events, args.log_dir)
    except (TemplateError, FileNotFoundError, RuntimeError, ValueError) as err:
        print(f"lambda check: {err}", file=sys.stderr)
        return 1
    print(f"\n{len(results.passed)} passed, {len(results.failed)} failed")
    return 1 if results.failed else 0


if __name__ == "__main__":
    sys.exit(main())
