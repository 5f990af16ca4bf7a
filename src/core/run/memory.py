"""The run's memory through the StateStore port: read what the last run left, mark findings new or open, list what
was resolved, and write the state back without losing an overlapping run's update."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field

from core.kernel.errors import ConflictError, SesGuardError
from core.kernel.models import Finding, RunError
from core.rules import memory as rules
from core.rules.memory import Recall, State, dump_state, merge, notified, parse_state
from core.run.ports import StateStore

ATTEMPTS = 5  # conditional writes tried before the run gives up and says so


@dataclass
class Memory:
    """The state as this run read it, and what the run will write back."""

    store: StateStore | None
    previous: State = field(default_factory=State)
    version: str = ""
    started: str = ""

    def recall(self, findings: Sequence[Finding], now: str, *, unread_regions: Collection[str] = ()) -> Recall:
        """The findings marked against the previous state. Without a store there is nothing to compare with: the
        findings stay `new` with no `first_seen` (unknown, not now), and nothing is resolved."""
        if self.store is None:
            return Recall(list(findings), [], State())
        return rules.recall(findings, self.previous, now, unread_regions=unread_regions)


def scope_key(regions: Sequence[str], identities: Sequence[str] | None) -> str:
    """One state per audited scope: a run of one region or a few identities must not resolve everything else.

    Readable where it can be: `eu-west-1_us-east-1`, `all`; a run limited to named identities or globs adds a hash
    of them (`eu-west-1.identities-1f0c9a2b7e4d`), since names and globs do not all make good object keys."""
    key = "_".join(sorted(set(regions))) or "none"
    if identities:
        names = ",".join(sorted(set(identities)))
        key += ".identities-" + hashlib.sha256(names.encode()).hexdigest()[:12]
    return key


def read(store: StateStore | None, started: str, errors: list[RunError]) -> Memory:
    """A missing state is a first run, silently: every fresh install starts so, and an error would notify people of
    nothing. An unreadable one is a first run too, plus an error that says why; the run's write replaces it."""
    memory = Memory(store, started=started)
    if store is None:
        return memory
    try:
        text, memory.version = store.load()
        if text is not None:
            memory.previous = parse_state(text)
    except (SesGuardError, ValueError) as err:
        errors.append(RunError("state", store.target, f"read as a first run: {err}"))
    return memory


def write(
    memory: Memory,
    state: State,
    notified_ids: Iterable[str],
    now: str,
    *,
    digest: bool,
    errors: list[RunError],
) -> None:
    """Writes this run's state over the version it read; when another run wrote in between, merges into theirs."""
    store = memory.store
    if store is None:
        return
    ours = notified(state, notified_ids, now, digest=digest)
    version, text = memory.version, dump_state(ours)
    try:
        for _ in range(ATTEMPTS):
            try:
                store.save(text, version)
                return
            except ConflictError:
                stored, version = store.load()
                text = dump_state(merge(ours, _theirs(stored), memory.started))
        errors.append(RunError("state", store.target, f"not written: {ATTEMPTS} overlapping writers in a row"))
    except (SesGuardError, ValueError) as err:
        errors.append(RunError("state", store.target, f"not written: {err}"))


def _theirs(stored: str | None) -> State:
    """What the other writer left; something unreadable is replaced, as at the start of a run."""
    if stored is None:
        return State()
    try:
        return parse_state(stored)
    except ValueError:
        return State()
