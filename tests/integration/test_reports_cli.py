"""`ses-guard reports ingest FILE...` on real files: one line per file, aggregates in a local directory or the
report bucket, and an exit status a script can rely on."""

from __future__ import annotations

import gzip
import io
import os

import pytest

from core.rules.rua import daily
from handlers import cli
from tests.fixtures_run import BUCKET
from tests.rua_mail import Row, aggregate_xml, report_mail, zipped


def ses_guard(*args):
    """`ses-guard ARGS`: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    status = cli.main(list(args), stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


@pytest.fixture
def files(tmp_path):
    """A report email, a bare .xml.gz and a .zip, each a different report for example.com on one day."""
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "google.eml").write_bytes(report_mail(aggregate_xml("g-1")))
    (folder / "yahoo.xml.gz").write_bytes(
        gzip.compress(aggregate_xml("y-1", org="yahoo.com", rows=[Row("192.0.2.1", 5)]))
    )
    (folder / "outlook.zip").write_bytes(zipped("report.xml", aggregate_xml("m-1", org="outlook.com")))
    return folder


@pytest.fixture
def no_aws(monkeypatch, tmp_path):
    """No AWS configuration at all: a local store must need none."""
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        monkeypatch.delenv(name)
    monkeypatch.delenv("REPORT_BUCKET", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")


def stored_day(root):
    return daily.from_json((root / "dmarc" / "example.com" / "2026-11-30.json").read_text(encoding="utf-8"))


def test_given_report_files_when_ingested_into_a_directory_then_each_is_accepted_and_the_day_counts_all(
    files, tmp_path, no_aws
):
    store = tmp_path / "store"
    paths = [str(files / name) for name in ("google.eml", "yahoo.xml.gz", "outlook.zip")]

    status, out, err = ses_guard("reports", "ingest", "--store", str(store), *paths)

    assert (status, err) == (0, "")
    assert out.splitlines() == [f"{path}: accepted 1 report" for path in paths]
    assert stored_day(store).total == 12 + 5 + 12


def test_given_files_ingested_before_when_ingested_again_then_each_is_a_duplicate(files, tmp_path, no_aws):
    store = str(tmp_path / "store")
    ses_guard("reports", "ingest", "--store", store, str(files / "google.eml"))

    status, out, _ = ses_guard("reports", "ingest", "--store", store, str(files / "google.eml"))

    assert (status, out) == (0, f"{files / 'google.eml'}: duplicate\n")
    assert stored_day(tmp_path / "store").total == 12


def test_given_a_malformed_file_among_good_ones_when_ingested_then_it_is_rejected_with_the_reason_and_exit_is_1(
    files, tmp_path, no_aws
):
    broken = files / "broken.xml"
    broken.write_bytes(aggregate_xml()[:-30])
    store = tmp_path / "store"

    status, out, _ = ses_guard("reports", "ingest", "--store", str(store), str(broken), str(files / "google.eml"))

    first, second = out.splitlines()
    assert first.startswith(f"{broken}: rejected: ")
    assert len(first) > len(f"{broken}: rejected: ")
    assert second == f"{files / 'google.eml'}: accepted 1 report"
    assert status == 1
    assert broken.exists()
    assert stored_day(store).total == 12


def test_given_a_missing_file_when_ingested_then_its_line_names_the_error_and_exit_is_1(tmp_path, no_aws):
    status, out, _ = ses_guard("reports", "ingest", "--store", str(tmp_path), str(tmp_path / "none.xml"))

    assert status == 1
    assert out == f"{tmp_path / 'none.xml'}: error: cannot read {tmp_path / 'none.xml'}: No such file or directory\n"


def test_given_an_email_with_two_reports_when_one_was_counted_before_then_the_line_says_so(tmp_path, no_aws):
    store = str(tmp_path / "store")
    (tmp_path / "one.xml").write_bytes(aggregate_xml("g-1"))
    both = zipped("a.xml", aggregate_xml("g-1"))  # the same report again, then a new one in the same mail
    mail = report_mail(aggregate_xml("g-2"))
    (tmp_path / "old.zip").write_bytes(both)
    (tmp_path / "new.eml").write_bytes(mail)
    ses_guard("reports", "ingest", "--store", store, str(tmp_path / "one.xml"))

    status, out, _ = ses_guard(
        "reports", "ingest", "--store", store, str(tmp_path / "old.zip"), str(tmp_path / "new.eml")
    )

    assert status == 0
    assert out.splitlines() == [f"{tmp_path / 'old.zip'}: duplicate", f"{tmp_path / 'new.eml'}: accepted 1 report"]


def test_given_no_store_and_no_report_bucket_when_ingested_then_it_exits_2_before_reading(files, no_aws):
    status, out, err = ses_guard("reports", "ingest", str(files / "google.eml"))

    assert (status, out) == (2, "")
    assert err == "ses-guard: no store: pass --store DIR, or set REPORT_BUCKET to count into the report bucket\n"


def test_given_a_store_that_is_a_file_when_ingested_then_it_exits_2(files, no_aws):
    status, _, err = ses_guard("reports", "ingest", "--store", str(files / "google.eml"), str(files / "google.eml"))

    assert status == 2
    assert err == f"ses-guard: --store: {files / 'google.eml'} is not a directory\n"


def test_given_no_file_when_ingested_then_argparse_asks_for_one(no_aws):
    status, _, err = ses_guard("reports", "ingest", "--store", "x")

    assert status == 2
    assert "the following arguments are required: FILE" in err


def test_given_a_report_bucket_when_ingested_without_a_store_then_the_bucket_holds_the_day(aws, bucket, files):
    status, out, _ = ses_guard("reports", "ingest", str(files / "yahoo.xml.gz"))

    assert (status, out) == (0, f"{files / 'yahoo.xml.gz'}: accepted 1 report\n")
    body = aws.client("s3").get_object(Bucket=BUCKET, Key="dmarc/example.com/2026-11-30.json")["Body"].read()
    assert daily.from_json(body.decode()).total == 5


def test_given_a_report_bucket_but_no_credentials_when_ingested_then_it_exits_2_before_reading(
    files, no_aws, monkeypatch
):
    monkeypatch.setenv("REPORT_BUCKET", BUCKET)
    monkeypatch.setenv("AWS_REGION", "eu-west-1")

    status, out, err = ses_guard("reports", "ingest", str(files / "google.eml"))

    assert (status, out) == (2, "")
    assert err.startswith("ses-guard: no AWS credentials found")
