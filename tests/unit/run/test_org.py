"""Organisation mode's pure orchestration: which targets, the org's totals in bounded memory, the local fan-out."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field

import pytest

from core.adapters.organizations import account_of
from core.kernel.errors import AwsError, ConfigError, SesGuardError
from core.kernel.events import RunRequest
from core.kernel.org import Account, OrgSummary, Target, TargetResult
from core.kernel.settings import Settings
from core.run.deadline import Deadline
from core.run.org import WORST_KEPT, audit_target, conclude, fan_out, list_targets, summarise
from handlers.org import bounded

EU, US = "eu-west-1", "us-east-1"


@dataclass
class Members:
    """The organisation's account list, as the Organizations adapter gives it."""

    members: list[Account]
    calls: int = 0

    def accounts(self) -> list[Account]:
        self.calls += 1
        return self.members


def result(account: int, *, high: int = 0, medium: int = 0, low: int = 0, failed: bool = False) -> TargetResult:
    return TargetResult(
        f"{account:012d}",
        EU,
        status="failed" if failed else "ok",
        identities_audited=2,
        counts={"findings": high + medium + low, "by_severity": {"HIGH": high, "MEDIUM": medium, "LOW": low}},
        unfixed={"HIGH": high, "MEDIUM": medium, "LOW": low},
        new=1,
        error_count=int(failed),
        errors=["sts AssumeRole failed: AccessDenied"] if failed else [],
    )


def test_given_an_organisation_when_targets_are_listed_then_only_active_accounts_times_regions():
    members = Members(
        [Account("111111111111", "a"), Account("222222222222", "b", "SUSPENDED"), Account("333333333333", "c"),
         Account("444444444444", "d", "PENDING_CLOSURE")]
    )  # fmt: skip

    found = list_targets(members, (), (EU, US))

    assert found.targets == [
        Target("111111111111", EU), Target("111111111111", US), Target("333333333333", EU), Target("333333333333", US)
    ]  # fmt: skip
    assert found.accounts == ["111111111111", "333333333333"]
    assert [a.id for a in found.skipped] == ["222222222222", "444444444444"]


def test_given_explicit_accounts_when_targets_are_listed_then_the_organisation_is_not_asked():
    members = Members([Account("111111111111")])

    found = list_targets(members, ("999999999999",), (EU,))

    assert found.targets == [Target("999999999999", EU)]
    assert members.calls == 0


@pytest.mark.parametrize("regions", [(), ("all",)])
def test_given_no_named_regions_when_targets_are_listed_then_config_error(regions):
    with pytest.raises(ConfigError, match="named regions"):
        list_targets(Members([]), (), regions)


def test_given_a_member_that_cannot_be_opened_when_audited_then_the_target_fails_with_the_error():
    def open_member(target: Target):
        raise AwsError("sts", "AssumeRole", "AccessDenied", f"not authorized on arn:aws:iam::{target.account}:role/x")

    outcome = audit_target(
        Target("111111111111", EU),
        RunRequest(),
        Settings(regions=(EU,)),
        open_member,
        Deadline.unlimited(),
        run_id="run",
        tally=lambda summary: {},
    )

    assert outcome.status == "failed"
    assert "AccessDenied" in outcome.errors[0]
    assert outcome.to_dict()["account"] == "111111111111"


def test_given_5000_results_when_summarised_then_totals_are_complete_and_the_output_is_bounded():
    results = (
        result(i, high=i % 3, medium=i % 5, low=1, failed=i % 1000 == 7) for i in range(5_000)
    )  # a generator: summarise must not need them all at once

    summary = summarise(results, "run")

    assert summary.targets == 5_000
    assert summary.accounts == 5_000
    assert summary.failed == 5
    assert summary.totals["identities"] == 10_000
    assert summary.totals["by_severity"]["HIGH"] == sum(i % 3 for i in range(5_000))
    assert len(summary.worst) == WORST_KEPT
    assert all(r.status == "failed" for r in summary.worst[:5])
    assert summary.worst[5].unfixed["HIGH"] == 2
    assert len(json.dumps(summary.to_dict(worst=10))) < 10_000


def test_given_ties_when_summarised_then_the_earlier_result_is_kept_and_order_is_worst_first():
    summary = summarise([result(1, low=1), result(2, high=1), result(3, low=1), result(4, medium=1)], "run", keep=3)

    assert [r.account[-1] for r in summary.worst] == ["2", "4", "1"]


def test_given_targets_when_fanned_out_then_each_is_audited_once_at_most_n_at_a_time():
    lock = threading.Lock()
    running, peak, seen = [0], [0], []

    def audit_one(target: Target) -> TargetResult:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
            seen.append(target)
        with lock:
            running[0] -= 1
        return TargetResult(target.account, target.region)

    targets = [Target(f"{i:012d}", EU) for i in range(50)]
    results = list(fan_out(iter(targets), audit_one, 4))

    assert [r.target for r in results] == targets
    assert sorted(seen, key=lambda t: t.account) == targets
    assert peak[0] <= 4


def test_given_one_target_raises_when_fanned_out_then_it_alone_fails_naming_the_exception():
    def audit_one(target: Target) -> TargetResult:
        if target.account.endswith("3"):
            raise TypeError("'NoneType' object is not subscriptable")
        return TargetResult(target.account, target.region)

    targets = [Target(f"{i:012d}", EU) for i in range(10)]
    results = list(fan_out(iter(targets), audit_one, 2))

    assert [r.target for r in results] == targets  # one result per target, in order, the others audited
    failed = [r for r in results if r.status == "failed"]
    assert [r.account for r in failed] == ["000000000003"]
    assert failed[0].errors == ["TypeError: 'NoneType' object is not subscriptable"]
    assert failed[0].error_count == 1


def test_given_changes_applied_and_new_findings_when_summarised_then_totals_carry_them_by_severity():
    first, second = result(1, high=1), result(2, low=2)
    first.counts.update(changes=3, changes_applied=2)
    first.new_by_severity, first.resolved_by_severity = {"HIGH": 1}, {"MEDIUM": 1}
    second.new_by_severity = {"LOW": 2}

    totals = summarise([first, second], "run").totals

    assert (totals["changes"], totals["changes_applied"]) == (3, 2)
    assert totals["new_by_severity"] == {"HIGH": 1, "MEDIUM": 0, "LOW": 2}
    assert totals["resolved_by_severity"] == {"HIGH": 0, "MEDIUM": 1, "LOW": 0}


@dataclass
class Store:
    fail: bool = False
    saved: list[OrgSummary] = field(default_factory=list)

    @property
    def target(self) -> str:
        return "s3://bucket/org/run/"

    def save(self, summary: OrgSummary) -> str:
        if self.fail:
            raise SesGuardError("s3 PutObject failed: AccessDenied")
        self.saved.append(summary)
        return "s3://bucket/org/run/report.json"


@dataclass
class Notifier:
    sent: list[OrgSummary] = field(default_factory=list)

    @property
    def target(self) -> str:
        return "arn:aws:sns:eu-west-1:123456789012:findings"

    def notify(self, summary: OrgSummary) -> bool:
        self.sent.append(summary)
        return True


def test_given_results_when_concluded_then_the_report_is_stored_before_the_one_notification():
    store, notifier = Store(), Notifier()

    summary = conclude([result(1, high=1)], "run", store=store, notifier=notifier, errors=["the Map failed: X"])

    assert summary.report == "s3://bucket/org/run/report.json"
    assert notifier.sent == [summary]
    assert notifier.sent[0].report == summary.report
    assert summary.errors == ["the Map failed: X"]


def test_given_a_report_that_cannot_be_stored_when_concluded_then_it_is_a_run_error_and_the_notification_still_goes():
    notifier = Notifier()

    summary = conclude([result(1)], "run", store=Store(fail=True), notifier=notifier)

    assert summary.report == ""
    assert "AccessDenied" in summary.errors[0]
    assert len(notifier.sent) == 1


def test_given_5000_failed_targets_with_long_errors_when_summarised_for_step_functions_then_under_200_kb():
    long_errors = (
        TargetResult.failure(Target(f"{i:012d}", EU), *(f"error {j}: " + "x" * 600 for j in range(8)))
        for i in range(5_000)
    )

    data = bounded(summarise(long_errors, "run").to_dict())

    assert len(json.dumps(data).encode()) <= 200_000
    assert data["targets"] == data["failed"] == 5_000
    assert data["worst"]
    assert len(data["worst"]) + data["worst_left_out"] == WORST_KEPT


@pytest.mark.parametrize(
    ("item", "state"),
    [
        ({"Id": "111111111111", "Name": "a", "State": "PENDING_CLOSURE", "Status": "ACTIVE"}, "PENDING_CLOSURE"),
        ({"Id": "111111111111", "Name": "a", "Status": "SUSPENDED"}, "SUSPENDED"),  # a response without State
        ({"Id": "111111111111", "Name": "a"}, "UNKNOWN"),
    ],
)
def test_given_a_list_accounts_item_when_read_then_state_leads_and_status_is_only_a_fallback(item, state):
    account = account_of(item)

    assert account.state == state
    assert not account.active
