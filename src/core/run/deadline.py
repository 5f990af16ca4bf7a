"""The run's time budget: under the margin, no new lookup or change starts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from core.kernel.models import Answer
from core.run.ports import Lookup

TIME_BUDGET = "the run's time budget ran out"


@dataclass(frozen=True)
class Deadline:
    """The Lambda's remaining time: under the margin, no new lookup or change starts."""

    remaining_seconds: Callable[[], float]
    margin_seconds: float

    @classmethod
    def unlimited(cls) -> Deadline:
        return cls(lambda: float("inf"), 0.0)

    def expired(self) -> bool:
        return self.remaining_seconds() < self.margin_seconds


@dataclass(frozen=True)
class Budgeted:
    """A lookup that stops asking once the deadline passes, so one slow identity cannot outrun the margin by more
    than one DNS timeout; what it no longer asks comes back FAILED and the checks say so."""

    dns: Lookup
    deadline: Deadline

    def lookup(self, name: str, rdtype: str) -> Answer:
        if self.deadline.expired():
            return Answer(name, rdtype, "FAILED", error=TIME_BUDGET)
        return self.dns.lookup(name, rdtype)
