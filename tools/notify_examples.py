"""The examples in docs/notifications.md: the demo account audited by the real handler (a dry run, with a findings
topic and a report bucket), the notifications it published, and the same run rendered into publishes too small to
hold it, printed as Markdown. Then the same account over a week (NOTIFY_ON=changes, the default): a live run, the
records propagate, the next day's message says what changed; on the eighth day, the digest.

    .venv/bin/python -m tools.notify_examples
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tests import scenario
from tests.lambda_context import LambdaContext

from core.adapters.sns import SnsPublisher
from core.adapters.wiring import AwsWiring, SnsNotifier
from core.kernel.models import RunSummary, Severity
from core.report.notify import Notification, render
from tools.demo import local_world

RUN_ID = "5b0c1e9a-7f43-4c1e-9a57-0d6f3c2b8e11"  # fixed, so the examples change only when the rendering does
SMALL_PUBLISH = 24_000  # bytes: small enough that the demo run needs more than three publishes
DAY_1 = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)  # the runs' clock, so first-seen dates change only with the code


def main() -> int:
    published, summaries = run_demo()
    for note in published:
        print(markdown(note))
    (summary,) = summaries
    parts = render(summary, min_severity=Severity.LOW, always=False, max_bytes=SMALL_PUBLISH)
    last = json.loads(parts[-1].message)
    print(f"\n## The same run in publishes of {SMALL_PUBLISH} bytes: {len(parts)} parts; the last one ends\n")
    email = last["email"].rstrip("\n").splitlines()
    print(_block("text", "\n".join(email[-6:])))
    description = json.loads(last["https"])["content"]["description"].splitlines()
    print(_block("text", "\n".join(description[-2:])))
    data = json.loads(last["default"])
    print(_block("json", json.dumps({k: data[k] for k in ("part", "parts", "truncated", "left_out")})))
    print_week()
    return 0


def print_week() -> None:
    """Day 1 as above; day 2 a live run creates what it can; the world sees it; day 3 says what changed; days 4 to 7
    say nothing; day 8 is the digest."""
    week = run_week()
    print("\n## A week with NOTIFY_ON=changes\n")
    for day, notes in week:
        subjects = "; ".join(f"`{n.subject}`" for n in notes) or "nothing published"
        print(f"- day {day}: {subjects}")
    (changes,) = dict(week)[3]
    print(f"\n### Day 3: what changed\n\nSubject: `{changes.subject}` ({changes.size} bytes)\n")
    bodies = json.loads(changes.message)
    print(_block("text", _slack(json.loads(bodies["https"]))))
    print(_block("text", bodies["email"].rstrip("\n")))
    print(_block("json", _excerpt(json.loads(bodies["default"]))))
    (digest,) = dict(week)[8]
    bodies = json.loads(digest.message)
    email = bodies["email"].splitlines()
    print(f"\n### Day 8: the digest\n\nSubject: `{digest.subject}` ({digest.size} bytes)\n")
    print(_block("text", "\n".join([*email[: email.index("By code:")], "[...]", *_first_topic(email)])))


def _first_topic(email: list[str]) -> list[str]:
    start = next(i for i, line in enumerate(email) if line.startswith("== "))
    end = next(i for i, line in enumerate(email[start + 1 :], start + 1) if not line.strip())
    return [*email[start:end], "[...]"]


def run_week() -> list[tuple[int, list[Notification]]]:
    """The handler once a day over the demo account, the state in the report bucket: what each day published."""
    days: list[tuple[int, list[Notification]]] = []
    published: list[Notification] = []
    publish = SnsPublisher.publish
    today = [DAY_1]

    def publish_spy(self: SnsPublisher, notifications: Sequence[Notification]) -> list[str]:
        published.extend(notifications)
        return publish(self, notifications)

    with local_world() as (aws, dns), pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(io.StringIO()):
        from handlers import audit

        aws.reset()  # moto's accounts live in the process, and the first demo left its own behind
        world = scenario.build(aws, dns)
        _topic_and_bucket(aws, patch)
        patch.setattr(SnsPublisher, "publish", publish_spy)
        patch.setattr(AwsWiring, "now", lambda _self: today[0])

        def propagate() -> None:
            world.sync("example.com")
            world.sync("example.net")

        actions: dict[int, Callable[[], None]] = {3: propagate}
        for day in range(1, 9):
            today[0] = DAY_1 + timedelta(days=day - 1)
            actions.get(day, lambda: None)()
            published.clear()
            audit.load_settings.cache_clear()
            audit.handler({"dry_run": day != 2}, LambdaContext(aws_request_id=f"{RUN_ID[:-2]}{day:02d}"))
            days.append((day, list(published)))
    return days


def _topic_and_bucket(aws: Any, patch: pytest.MonkeyPatch) -> None:
    topic = aws.client("sns", scenario.EU).create_topic(Name="ses-guard-findings")["TopicArn"]
    aws.client("s3", scenario.EU).create_bucket(
        Bucket="ses-guard-reports", CreateBucketConfiguration={"LocationConstraint": scenario.EU}
    )
    patch.setenv("FINDINGS_TOPIC_ARN", topic)
    patch.setenv("REPORT_BUCKET", "ses-guard-reports")


def run_demo() -> tuple[list[Notification], list[RunSummary]]:
    """The handler's dry run over the demo account (NOTIFY_ON=all): what it published, and the summary it published it
    from."""
    published: list[Notification] = []
    summaries: list[RunSummary] = []
    publish, notify = SnsPublisher.publish, SnsNotifier.notify

    def publish_spy(self: SnsPublisher, notifications: Sequence[Notification]) -> list[str]:
        published.extend(notifications)
        return publish(self, notifications)

    def notify_spy(self: SnsNotifier, summary: RunSummary) -> bool:
        summaries.append(summary)
        return notify(self, summary)

    # Powertools logs the summary to stdout, which is where the Markdown goes.
    with local_world() as (aws, dns), pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(io.StringIO()):
        from handlers import audit  # after local_world: Powertools reads its settings on import

        scenario.build(aws, dns)
        _topic_and_bucket(aws, patch)
        patch.setenv("NOTIFY_ON", "all")  # the whole run, as every message was before runs had memory
        patch.setattr(SnsPublisher, "publish", publish_spy)
        patch.setattr(AwsWiring, "now", lambda _self: DAY_1)
        patch.setattr(SnsNotifier, "notify", notify_spy)
        audit.load_settings.cache_clear()
        audit.handler({"dry_run": True}, LambdaContext(aws_request_id=RUN_ID))
    return published, summaries


def markdown(note: Notification) -> str:
    bodies = json.loads(note.message)
    card = json.loads(bodies["https"])
    return "\n\n".join(
        [
            f"Subject: `{note.subject}` ({note.size} bytes)",
            _block("text", _slack(card)),
            _block("json", json.dumps(card, indent=2, ensure_ascii=False)),
            _block("text", bodies["email"].rstrip("\n")),
            _block("json", _excerpt(json.loads(bodies["default"]))),
        ]
    )


def _slack(card: dict[str, Any]) -> str:
    content = card["content"]
    steps = "\n".join(f"  • {step}" for step in content["nextSteps"])
    return f"{content['title']}\n\n{content['description']}\n\nNext steps:\n{steps}"


def _excerpt(data: dict[str, Any]) -> str:
    """The JSON body one entry a line, its lists cut to a few telling entries: the first finding, the first with
    records found and required, the first shared by several identities, the first change and error."""
    findings = data["findings"]
    telling = [
        next((f for f in findings if {r["role"] for r in f["records"]} == {"found", "required"}), None),
        next((f for f in findings if len(f["identities"]) > 1), None),
    ]
    picks = {id(f): f for f in [*findings[:1], *telling] if f is not None}
    cuts = {
        "findings": [f for f in findings if id(f) in picks],
        "resolved": data.get("resolved", [])[:2],
        "changes": data["changes"][:1],
        "errors": data["errors"][:1],
    }
    lines = ["{"]
    for i, (key, value) in enumerate(data.items()):
        comma = "," if i < len(data) - 1 else ""
        if key in cuts and value:
            shown = [json.dumps(item, ensure_ascii=False) for item in cuts[key]]
            rest = len(value) - len(shown)
            if rest:
                shown.append(json.dumps(f"... {rest} more {key} in the published body"))
            lines += [f'  "{key}": [', *(f"    {s}," for s in shown[:-1]), f"    {shown[-1]}", f"  ]{comma}"]
        else:
            lines.append(f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}{comma}")
    return "\n".join([*lines, "}"])


def _block(language: str, text: str) -> str:
    return f"```{language}\n{text}\n```"


if __name__ == "__main__":
    sys.exit(main())
