"""SPF as receivers evaluate it (RFC 7208 §4.6.4, §5.2, §6.1): a record and every record its include: and redirect=
terms reach, with the lookup limits counted over the whole tree.

Pure: DNS comes in through `lookup`, any (name, type) -> Answer. core.run.observe walks with the live DNS client and
keeps what it read; core.checks.mailfrom walks again over those answers (`replay`), so both walks read the same names.
The walk is the one a receiver makes for a sender that matches no term (the longest one): every term up to the
record's `all`, then its redirect. It stops where a receiver would: at the first permerror or failed lookup.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from core.kernel.models import Answer
from core.kernel.names import normalise
from core.rules.spf import MAX_LOOKUPS, SES_DOMAIN, SpfTerm, parse_spf, spf_records, spf_terms

MAX_VOID_LOOKUPS = 2  # §4.6.4
MAX_MX_NAMES = 10  # §4.6.4: more MX names than this is a permerror

Lookup = Callable[[str, str], Answer]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# %{d} is the domain being evaluated, known without a message; every other macro letter needs one (§7.2).
_MESSAGE_MACRO = re.compile(r"%\{[slohipcrtv]", re.IGNORECASE)
_DOMAIN_MACRO = re.compile(r"%\{d\}", re.IGNORECASE)


@dataclass(frozen=True)
class SpfProblem:
    """Where the tree broke: the names from the MAIL FROM name to the record holding `term` (its exact text, "" when
    the record as a whole is at fault), and why."""

    path: tuple[str, ...]
    term: str
    message: str
    record: str

    def describe(self) -> str:
        where = " → ".join(self.path)
        return f"{where}: {self.term!r} {self.message}" if self.term else f"{where}: {self.message}"


@dataclass(frozen=True)
class SpfEvaluation:
    errors: tuple[SpfProblem, ...]  # permerrors (a receiver stops at the first; syntax errors of one record together)
    warnings: tuple[SpfProblem, ...]
    lookups: int  # DNS-querying terms counted over the tree, as receivers count them against MAX_LOOKUPS
    void_lookups: int
    authorises_ses: bool
    ses_by_ip_ranges: bool  # authorised only because ip4/ip6 terms cover amazonses.com's published ranges
    failed: Answer | None = None  # a lookup that got no answer (temperror): the tree could not be judged
    failed_at: SpfProblem | None = None
    records: tuple[tuple[str, str], ...] = ()  # (name, record) of every record evaluated, in order


def evaluate_spf(name: str, record: str, lookup: Lookup) -> SpfEvaluation:
    """Evaluate `record`, published at `name`, and the tree below it."""
    walk = _Walk(lookup)
    authorised = walk.record((normalise(name),), record, positive=True)
    by_ranges = False
    if not authorised and not walk.stopped and walk.networks:
        by_ranges = walk.covers_ses((normalise(name),), record)
    return SpfEvaluation(
        errors=tuple(walk.errors),
        warnings=tuple(walk.warnings),
        lookups=walk.lookups,
        void_lookups=walk.voids,
        authorises_ses=authorised or by_ranges,
        ses_by_ip_ranges=by_ranges,
        failed=walk.failed,
        failed_at=walk.failed_at,
        records=tuple(walk.records),
    )


def replay(answers: Iterable[Answer]) -> Lookup:
    """A lookup over answers gathered earlier; a name never gathered reads as a failed query, never as absent."""
    by_key = {(normalise(answer.name), answer.rdtype.upper()): answer for answer in answers}

    def lookup(name: str, rdtype: str) -> Answer:
        default = Answer(name, rdtype, "FAILED", error="not read during this run")
        return by_key.get((normalise(name), rdtype.upper()), default)

    return lookup


@dataclass
class _Walk:
    lookup: Lookup
    errors: list[SpfProblem] = field(default_factory=list)
    warnings: list[SpfProblem] = field(default_factory=list)
    networks: list[Network] = field(default_factory=list)  # ip4/ip6 that pass, reached before any all
    records: list[tuple[str, str]] = field(default_factory=list)
    lookups: int = 0
    voids: int = 0
    failed: Answer | None = None
    failed_at: SpfProblem | None = None

    @property
    def stopped(self) -> bool:
        return bool(self.errors) or self.failed is not None

    def record(self, path: tuple[str, ...], record: str, *, positive: bool) -> bool:
        """Evaluate `record`, published at path[-1]; True when it reaches include:amazonses.com before its all with
        every qualifier on the way a pass (`positive`: the includes leading here all pass)."""
        self.records.append((path[-1], record))
        syntax = parse_spf(record)
        # The per-record lookup count is superseded by the count over the whole tree.
        errors = [error for error in syntax.errors if "DNS-querying terms" not in error]
        if errors:
            self.errors += [SpfProblem(path, "", error, record) for error in errors]
            return False
        self.warnings += [SpfProblem(path, "", warning, record) for warning in syntax.warnings]
        terms = spf_terms(record)
        authorised = False
        for term in terms:
            if self.stopped or term.name == "all":
                break
            if term.name in ("ip4", "ip6"):
                if positive and term.qualifier == "+":
                    self.networks.append(ipaddress.ip_network(term.value, strict=False))
            elif term.queries_dns and term.name != "redirect":
                authorised = self._mechanism(path, term, record, positive=positive) or authorised
        redirect = next((term for term in terms if term.name == "redirect"), None)
        # §6.1: redirect applies only to a record without all.
        if redirect and not self.stopped and not any(term.name == "all" for term in terms):
            authorised = self._mechanism(path, redirect, record, positive=positive) or authorised
        return authorised

    def covers_ses(self, path: tuple[str, ...], record: str) -> bool:
        """Whether the passing ip4/ip6 terms cover every range amazonses.com's own SPF record publishes now."""
        answer = self.lookup(SES_DOMAIN, "TXT")
        if answer.failed:
            self._fail(answer, SpfProblem(path, "", f"needs {SES_DOMAIN}'s SPF record to compare ranges", record))
            return False
        found = spf_records(answer.values) if answer.status == "OK" else []
        ranges = [
            ipaddress.ip_network(term.value, strict=False)
            for term in (spf_terms(found[0]) if len(found) == 1 else [])
            if term.name in ("ip4", "ip6") and term.qualifier == "+"
        ]
        covered = list(ipaddress.collapse_addresses(n for n in self.networks if n.version == 4)) + list(
            ipaddress.collapse_addresses(n for n in self.networks if n.version == 6)
        )
        if not ranges or not all(_within(network, covered) for network in ranges):
            return False
        self.warnings.append(
            SpfProblem(
                path,
                "",
                f"authorises SES by ip4/ip6 ranges, not include:{SES_DOMAIN}: SES adds sending ranges and AWS "
                f"documents only the include, so mail from a new range will fail SPF",
                record,
            )
        )
        return True

    def _mechanism(self, path: tuple[str, ...], term: SpfTerm, record: str, *, positive: bool) -> bool:
        if self.lookups >= MAX_LOOKUPS:
            message = f"would be DNS lookup {self.lookups + 1}; receivers allow {MAX_LOOKUPS} (permerror)"
            self.errors.append(SpfProblem(path, term.text, message, record))
            return False
        self.lookups += 1
        target = self._target(path, term, record)
        if target is None or term.name == "ptr":
            return False  # ptr queries the sender's address, unknown here: its lookup is counted, nothing more
        if term.name in ("include", "redirect"):
            passes = positive and term.qualifier in ("+", "")
            return self._include(path, term, record, target, positive=passes)
        rdtype = "MX" if term.name == "mx" else "A"
        answer = self._query(path, term, record, target, rdtype)
        if answer is not None and len(answer.values) > MAX_MX_NAMES:
            message = f"finds {len(answer.values)} MX names at {target}; receivers allow {MAX_MX_NAMES} (permerror)"
            self.errors.append(SpfProblem(path, term.text, message, record))
        return False

    def _target(self, path: tuple[str, ...], term: SpfTerm, record: str) -> str | None:
        """The domain a term queries; None when it holds a macro that only a message can fill."""
        spec = term.value or path[-1]
        if _MESSAGE_MACRO.search(spec):
            message = (
                "holds a macro that needs the message being checked: its lookup is counted, but what it "
                "queries cannot be known without one, so it is not followed"
            )
            self.warnings.append(SpfProblem(path, term.text, message, record))
            return None
        spec = _DOMAIN_MACRO.sub(path[-1], spec).replace("%%", "%").replace("%_", " ").replace("%-", "%20")
        return normalise(spec)

    def _include(self, path: tuple[str, ...], term: SpfTerm, record: str, target: str, *, positive: bool) -> bool:
        if target in path:
            message = f"loops back to {target}, which is already being evaluated (permerror)"
            self.errors.append(SpfProblem(path, term.text, message, record))
            return False
        answer = self.lookup(target, "TXT")
        found = spf_records(answer.values) if answer.status == "OK" else []
        if target == SES_DOMAIN:
            # SES's own record is SES's business: it is followed (its terms count) when it can be read, and the
            # include authorises SES either way.
            if len(found) == 1:
                self.record((*path, target), found[0], positive=False)
            return positive
        if answer.failed:
            self._fail(answer, SpfProblem(path, term.text, "could not be followed", record))
            return False
        if len(found) != 1:
            what = "has no SPF record" if not found else f"holds {len(found)} SPF records"
            self.errors.append(SpfProblem(path, term.text, f"points to {target}, which {what} (permerror)", record))
            return False
        return self.record((*path, target), found[0], positive=positive)

    def _query(self, path: tuple[str, ...], term: SpfTerm, record: str, name: str, rdtype: str) -> Answer | None:
        answer = self.lookup(name, rdtype)
        if answer.failed:
            self._fail(answer, SpfProblem(path, term.text, "could not be evaluated", record))
            return None
        if answer.status != "OK" or not answer.values:
            self.voids += 1
            if self.voids > MAX_VOID_LOOKUPS:
                outcome = "NXDOMAIN" if answer.status == "NXDOMAIN" else "no answer"
                message = (
                    f"is void lookup {self.voids} ({rdtype} {name}: {outcome}); receivers allow "
                    f"{MAX_VOID_LOOKUPS} (permerror)"
                )
                self.errors.append(SpfProblem(path, term.text, message, record))
            return None
        return answer

    def _fail(self, answer: Answer, problem: SpfProblem) -> None:
        self.failed, self.failed_at = answer, problem


def _within(network: Network, covered: list[Network]) -> bool:
    return any(
        network.version == other.version and network.subnet_of(other)  # type: ignore[arg-type]
        for other in covered
    )
