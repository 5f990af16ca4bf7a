"""`ses-guard audit` runs the same path as the handler and prints it for people or machines, and refuses mistakes."""

from __future__ import annotations

import csv
import fnmatch
import io
import json
import os
import re
from importlib.metadata import version

import pytest

from handlers import cli
from tests import scenario

NA = "\u2013"  # the en dash the matrix shows for "not applicable"
SHOP = "shop.example.com"


class Terminal(io.StringIO):
    """A stream that says it is a terminal, as stdout and stderr do in an interactive shell."""

    def isatty(self) -> bool:
        return True


def ses_guard(*args, stdout=None, stderr=None):
    """`ses-guard audit ARGS`: (exit status, stdout, stderr)."""
    out, err = stdout or io.StringIO(), stderr or io.StringIO()
    status = cli.main(["audit", *args], stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


@pytest.fixture
def world(aws, dns_server, monkeypatch):
    monkeypatch.setenv("DNS_NAMESERVERS", dns_server.nameserver)
    monkeypatch.setenv("SES_MAX_RPS", "1000")
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    return scenario.build(aws, dns_server)


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """Nothing configured: no profile, credentials or region; the only endpoint is a closed loopback port and the
    instance metadata service is off, so a check that slipped through would fail here, never reach out."""
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        monkeypatch.delenv(name)
    monkeypatch.delenv("AUDIT_REGIONS", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")


# --- views -----------------------------------------------------------------------------------------------------------


def test_given_an_account_when_audited_with_json_then_the_summary_is_the_full_report(world):
    status, out, err = ses_guard("--region", scenario.EU, "--region", scenario.US, "--json")

    summary = json.loads(out)
    assert (status, err) == (0, "")
    assert set(summary) == {
        "run_id", "dry_run", "regions", "identities_audited", "report", "identities", "findings", "changes", "errors",
        "resolved", "expired_suppressions", "digest", "regions_skipped", "traffic",
        "zones_skipped",
    }  # fmt: skip
    found = {(i["identity"], i["region"], f["code"]) for f in summary["findings"] for i in f["identities"]}
    expected = {(name, region, code) for (name, region), codes in scenario.EXPECTED.items() for code in codes}
    assert found == expected
    assert ses_guard("--identity", SHOP, "--format", "json")[1].startswith('{\n  "run_id"')


def test_given_an_account_when_audited_then_the_matrix_comes_first_then_findings_then_the_summary_line(world):
    status, out, err = ses_guard("--region", scenario.EU, "--region", scenario.US)

    lines = out.splitlines()
    assert (status, err) == (0, "")
    assert lines[0].split() == ["IDENTITY", "REGION", "DKIM", "MAIL", "FROM/SPF", "DMARC"]
    rows = {tuple(line.split()[:2]): line.split()[2:] for line in lines[1 : 1 + len(scenario.EXPECTED)]}
    assert set(rows) == set(scenario.EXPECTED)
    assert rows[(SHOP, scenario.EU)] == ["✓", "✗", "!"]  # MX and SPF missing (HIGH), DMARC p=none (LOW)
    assert rows[("good.example.com", scenario.EU)] == ["✓", "✓", "✓"]
    assert rows[("alerts@example.com", scenario.EU)] == ["✓", NA, NA]
    first_finding = lines.index(next(line for line in lines if line.startswith("== ")))
    assert first_finding > len(scenario.EXPECTED)
    assert lines[-2] == (
        "12 identities in eu-west-1, us-east-1 (dry run): 31 findings (HIGH 14, MEDIUM 14, LOW 3), 6 changes, 0 errors"
    )
    # The zone receivers do not see is left alone, and the plan says so last.
    assert lines[-1].startswith("1 zone skipped, nothing written there: example.net (receivers may not see the Route")


def test_given_one_identity_when_audited_then_its_findings_show_the_records_and_the_planned_changes(world):
    status, out, _ = ses_guard("--region", scenario.EU, "--identity", SHOP, "--fail-on", "HIGH")

    assert status == 3  # MAIL FROM records are missing: HIGH
    assert f"== {SHOP} ==\n  [HIGH] MAIL_FROM_MX_MISSING ({scenario.EU})" in out
    assert f"needed: bounce.{SHOP} MX 10 feedback-smtp.{scenario.EU}.amazonses.com" in out
    assert "[LOW] DMARC_POLICY_NONE (affects shop.example.com (eu-west-1))" in out
    assert "CHANGES (planned; --apply writes them)" in out
    assert out.rstrip().endswith(
        "1 identity in eu-west-1 (dry run): 4 findings (HIGH 2, MEDIUM 0, LOW 2), 2 changes, 0 errors"
    )


def test_given_apply_when_audited_then_the_records_are_created_and_shown_as_fixed(world):
    status, out, _ = ses_guard("--region", scenario.EU, "--identity", SHOP, "--apply", "--fail-on", "HIGH")

    assert status == 0  # every HIGH finding was fixed in this run
    assert "CHANGES (applied)" in out
    assert "[HIGH] MAIL_FROM_MX_MISSING (eu-west-1) - fixed in this run" in out
    rrsets = world.records(world.zones["example.com"])
    assert (f"bounce.{SHOP}.", "MX") in rrsets
    assert (f"bounce.{SHOP}.", "TXT") in rrsets


@pytest.mark.parametrize(
    ("stdout", "no_color", "coloured"),
    [(io.StringIO, None, False), (Terminal, None, True), (Terminal, "1", False)],
    ids=["piped", "terminal", "terminal-with-NO_COLOR"],
)
def test_given_where_stdout_goes_when_audited_then_colour_is_used_only_on_a_terminal_without_no_color(
    world, monkeypatch, stdout, no_color, coloured
):
    if no_color:
        monkeypatch.setenv("NO_COLOR", no_color)

    _, out, _ = ses_guard("--identity", SHOP, stdout=stdout())

    assert ("\x1b[" in out) is coloured
    assert "✗" in out


def test_given_csv_when_audited_then_each_row_is_a_finding_and_one_identity_it_affects(world):
    _, out, _ = ses_guard("--region", scenario.EU, "--region", scenario.US, "--format", "csv")

    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == ["id", "severity", "code", "subject", "identity", "region", "fixable", "fixed", "message"]
    expected = {(name, region, code) for (name, region), codes in scenario.EXPECTED.items() for code in codes}
    assert {(r["identity"], r["region"], r["code"]) for r in rows} == expected
    assert len(rows) == len(expected)
    assert {r["fixable"] for r in rows} == {"true", "false"}


def test_given_markdown_when_audited_then_the_matrix_and_the_findings_are_well_formed_tables(world):
    _, out, _ = ses_guard("--identity", SHOP, "--format", "markdown")

    tables = [block.splitlines() for block in out.split("\n\n") if block.startswith("|")]
    assert len(tables) == 2
    for table in tables:
        widths = {line.count(" | ") - line.count("\\|") for line in table}
        assert len(widths) == 1  # every row has the header's number of cells
        assert set(table[1].strip("| ").split(" | ")) == {"---"}
    assert f"| {SHOP} | {scenario.EU} | ✓ | ✗ | ! |" in tables[0]
    assert any("`MAIL_FROM_MX_MISSING`" in line for line in tables[1])


def test_given_output_when_audited_then_the_report_goes_to_the_file_and_nothing_to_stdout(world, tmp_path):
    target = tmp_path / "report.json"

    status, out, err = ses_guard("--identity", SHOP, "--format", "json", "--output", str(target))

    assert (status, out, err) == (0, "", "")
    assert json.loads(target.read_text())["identities"] == [{"identity": SHOP, "region": scenario.EU}]


@pytest.mark.parametrize(
    ("option", "target", "problem"),
    [("--output", "nope/report.txt", "no directory {tmp}/nope"), ("--html", ".", "{tmp} is a directory")],
)
def test_given_a_report_file_that_cannot_be_written_when_audited_then_it_exits_2_before_the_run(
    world, aws, tmp_path, option, target, problem
):
    aws.calls.clear()

    status, out, err = ses_guard("--identity", SHOP, option, str(tmp_path / target))

    assert (status, out) == (2, "")
    assert err == f"ses-guard: {option}: {problem.format(tmp=tmp_path)}\n"
    assert aws.calls.count(service="ses") == 0


def test_given_html_when_audited_then_the_page_is_written_beside_the_table(world, tmp_path):
    page = tmp_path / "report.html"

    status, out, _ = ses_guard("--identity", SHOP, "--html", str(page))

    assert status == 0
    assert out.startswith("IDENTITY")
    html = page.read_text()
    assert "<html" in html
    assert SHOP in html


# --- choosing identities -------------------------------------------------------------------------------------------


def test_given_a_glob_when_audited_then_exactly_the_identities_it_matches_are_audited(world):
    status, out, _ = ses_guard("--region", scenario.EU, "--identity", "*.Example.com", "--json")

    audited = {(i["identity"], i["region"]) for i in json.loads(out)["identities"]}
    expected = {(n, r) for n, r in scenario.EXPECTED if r == scenario.EU and fnmatch.fnmatch(n, "*.example.com")}
    assert status == 0
    assert audited == expected
    assert len(expected) == 6


def test_given_a_glob_and_two_regions_when_audited_then_it_matches_in_each(world):
    _, out, _ = ses_guard("--region", scenario.EU, "--region", scenario.US, "--identity", "example.c?m", "--json")

    audited = {(i["identity"], i["region"]) for i in json.loads(out)["identities"]}
    assert audited == {("example.com", scenario.EU), ("example.com", scenario.US)}


def test_given_a_misspelt_identity_when_failing_on_low_then_it_exits_2_naming_it_instead_of_passing(world):
    status, out, err = ses_guard("--identity", "shpo.example.com", "--fail-on", "LOW")

    assert (status, out) == (2, "")
    assert err == "ses-guard: no identity matches shpo.example.com in eu-west-1\n"


def test_given_several_names_and_globs_that_match_nothing_when_audited_then_each_is_named(world):
    status, _, err = ses_guard("--region", scenario.EU, "--identity", SHOP, "--identity", "*.example.org.uk",
                               "--identity", "Nobody@Example.com")  # fmt: skip

    assert status == 2
    assert err.splitlines() == [
        "ses-guard: no identity matches *.example.org.uk in eu-west-1",
        "ses-guard: no identity matches nobody@example.com in eu-west-1",
    ]


def test_given_a_typo_beside_a_real_identity_when_applied_then_nothing_is_written(world):
    status, _, err = ses_guard("--identity", SHOP, "--identity", "shpo.example.com", "--apply")

    assert status == 2
    assert "shpo.example.com" in err
    assert (f"bounce.{SHOP}.", "MX") not in world.records(world.zones["example.com"])


# --- exit status -----------------------------------------------------------------------------------------------------


def test_given_a_clean_identity_when_failing_on_low_then_the_exit_status_is_0(world):
    assert ses_guard("--identity", "good.example.com", "--fail-on", "low")[0] == 0


def test_given_a_zone_that_cannot_be_read_when_audited_then_the_exit_status_is_1_and_the_error_is_shown(world, aws):
    aws.fail("ListResourceRecordSets", "AccessDenied", "not allowed")

    status, out, _ = ses_guard("--identity", SHOP, "--fail-on", "HIGH")

    assert status == 1
    assert "error: zone example.com: route53 ListResourceRecordSets failed: AccessDenied: not allowed" in out


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--fail-on", "HIHG"], "argument --fail-on: invalid choice: 'HIHG'"),
        (["--format", "yaml"], "argument --format: invalid choice: 'yaml'"),
        (["--json", "--format", "csv"], "not allowed with argument --json"),
        (["--dry-run", "--apply"], "not allowed with argument --dry-run"),
        (["--region", "moon-1"], "'moon-1' is not an AWS region name"),
        (["--identity", "a.example.com,b.example.com"], "is not one identity name or glob"),
    ],
)
def test_given_a_bad_option_when_run_then_it_exits_2_naming_it_before_any_call(world, aws, args, words):
    aws.calls.clear()

    status, out, err = ses_guard(*args)

    assert (status, out) == (2, "")
    assert words in err
    assert "Traceback" not in err
    assert aws.calls.count(service="ses") == 0


def test_given_help_when_asked_then_the_exit_statuses_are_documented(capsys):
    assert cli.main(["audit", "--help"]) == 0

    out = capsys.readouterr().out
    for line in ("0  the run finished without errors", "1  the run finished, but part of it failed",
                 "2  usage or configuration error", "3  --fail-on: an unfixed finding"):  # fmt: skip
        assert line in out


def test_given_version_when_asked_then_it_prints_the_package_version(capsys):
    assert cli.main(["--version"]) == 0

    assert capsys.readouterr().out == f"ses-guard {version('ses-guard')}\n"


# --- AWS configuration --------------------------------------------------------------------------------------------


@pytest.mark.disable_socket
@pytest.mark.parametrize(
    ("env", "args", "message"),
    [
        (
            {"AWS_PROFILE": "nope", "AWS_REGION": "eu-west-1"},
            [],
            "no AWS profile named 'nope' (from AWS_PROFILE); `aws configure list-profiles` lists the ones there are",
        ),
        (
            {"AWS_REGION": "eu-west-1"},
            ["--profile", "nope"],
            "no AWS profile named 'nope' (from --profile); `aws configure list-profiles` lists the ones there are",
        ),
        (
            {"AWS_REGION": "eu-west-1"},
            [],
            "no AWS credentials found: pass --profile or set AWS_PROFILE, log in (`aws sso login`), "
            "or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
        ),
        (
            {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"},
            [],
            "no AWS region: pass --region, set AWS_REGION, or give the profile one (`aws configure set region ...`)",
        ),
    ],
    ids=["profile-from-env", "profile-from-option", "credentials", "region"],
)
def test_given_missing_aws_configuration_when_run_then_one_clear_line_and_exit_2(
    offline, monkeypatch, env, args, message
):
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    status, out, err = ses_guard(*args)

    assert (status, out) == (2, "")
    assert err == f"ses-guard: {message}\n"


# --- progress --------------------------------------------------------------------------------------------------------


def test_given_stderr_is_a_terminal_when_audited_then_progress_updates_one_line_and_erases_it(world):
    err = Terminal()

    status, out, progress = ses_guard("--identity", SHOP, stderr=err)

    assert status == 0
    assert out.startswith("IDENTITY")
    updates = [u for u in progress.split("\r\x1b[K") if u]
    assert updates[0] == "ses-guard: 1 identity read"
    assert re.fullmatch(r"ses-guard: 1 identity read, 1/1 domains checked, [1-9]\d* DNS lookups", updates[1])
    assert len(updates) == 2
    assert progress.endswith("\r\x1b[K")  # the report starts on a clean line
