"""A domain's DMARC pass rate by day as the geometry of an inline SVG bar chart: one slot per day of the window, the
passing share from the bottom, the failing share above it, a stub where no report covers the day.

Shapes only, no text and no style attribute: the page's Content-Security-Policy allows its own stylesheet alone,
which colours the bars by class, and the numbers are in each bar's title.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from core.kernel.traffic import DomainTraffic
from core.report.traffic import percent, window_days

HEIGHT = 100  # viewBox units; the stylesheet gives the chart its size on the page
SLOT = 10  # viewBox units per day
GAP = 2
STUB = 3  # the height of a day without reports


@dataclass(frozen=True)
class Bar:
    x: int
    passed: float  # height of the passing share, from the bottom
    title: str
    reported: bool = True

    @property
    def width(self) -> int:
        return SLOT - GAP

    @property
    def failed(self) -> float:
        """Height of the failing share, above the passing one."""
        return HEIGHT - self.passed if self.reported else 0.0


@dataclass(frozen=True)
class Chart:
    width: int
    floor: float  # the pass rate at the bottom of the chart: 0.9 unless a day fell lower
    bars: tuple[Bar, ...]

    @property
    def height(self) -> int:
        return HEIGHT

    @property
    def scale(self) -> str:
        """`90% to 100%`: what the height spans."""
        return f"{percent(self.floor)} to 100%"


def chart(traffic: DomainTraffic) -> Chart:
    """Bars for each day of the window. The scale starts at 90%, or lower in steps of ten so that the worst day still
    shows some green unless nothing passed: a day at 99% and a day at 97% look different."""
    lowest = min((d.passed / d.messages for d in traffic.days if d.messages), default=1.0)
    floor = max(0.0, min(0.9, (math.ceil(round(lowest * 10, 6)) - 1) / 10))
    by_day = {d.day: d for d in traffic.days}
    bars = []
    for slot in range(window_days(traffic)):
        day = traffic.start.fromordinal(traffic.start.toordinal() + slot)
        seen = by_day.get(day)
        x = slot * SLOT + GAP // 2
        if seen is None or not seen.messages:
            bars.append(Bar(x, STUB, f"{day}: no reports", reported=False))
            continue
        rate = seen.passed / seen.messages
        height = round(HEIGHT * (rate - floor) / (1 - floor), 2)
        title = f"{day}: {seen.passed:,} of {seen.messages:,} messages passed DMARC ({percent(rate)})"
        bars.append(Bar(x, max(height, 0.0), title))
    return Chart(window_days(traffic) * SLOT, floor, tuple(bars))
