"""Reading Route 53's view of a name in the same presentation form live DNS answers use."""

from __future__ import annotations

from core.kernel.models import Record, RecordSet, ZoneView
from core.kernel.names import normalise


def route53_txt(raw: str) -> str:
    """One Route 53 TXT value (`"v=spf1 " "include:..."`) as the single string receivers read.

    Quoted strings are joined without a separator (RFC 7208 §3.3, RFC 9989's record section), `\\"` and `\\\\`
    are unescaped, and `\\ooo` is read as an octal byte, which is how Route 53 writes other characters.
    A value without quotes is returned unchanged.
    """
    text = raw.strip()
    if not text.startswith('"'):
        return text
    out = bytearray()
    quoted = False
    i = 0
    while i < len(text):
        char = text[i]
        if char == '"':
            quoted = not quoted
        elif char == "\\" and i + 1 < len(text):
            digits = text[i + 1 : i + 4]
            if len(digits) == 3 and all(d in "01234567" for d in digits):
                out.append(int(digits, 8) & 0xFF)
                i += 3
            else:
                out.extend(text[i + 1].encode())
                i += 1
        elif quoted:
            out.extend(char.encode())
        i += 1
    return out.decode("utf-8", errors="replace")


def presentation(rdtype: str, value: str) -> str:
    """A Route 53 value in the form `core.kernel.models.Answer` uses: TXT joined, names lower case without the dot."""
    if rdtype == "TXT":
        return route53_txt(value)
    if rdtype in ("CNAME", "NS"):
        return normalise(value)
    if rdtype == "MX":
        preference, _, exchange = value.strip().partition(" ")
        return f"{preference} {normalise(exchange)}"
    return value.strip()


def record_set(view: ZoneView, name: str, rdtype: str) -> RecordSet | None:
    return view.records.get((normalise(name), rdtype.upper()))


def values_at(view: ZoneView, name: str, rdtype: str) -> tuple[str, ...]:
    """Presentation values of the record set Route 53 holds at (name, type); empty when there is none."""
    found = record_set(view, name, rdtype)
    if found is None or found.alias:
        return ()
    return tuple(presentation(found.type, value) for value in found.values)


def types_at(view: ZoneView, name: str) -> list[str]:
    """Every record type Route 53 holds at `name`, sorted, among the names the view was read for."""
    wanted = normalise(name)
    return sorted(rdtype for (held, rdtype) in view.records if held == wanted)


def holds(view: ZoneView, record: Record) -> bool:
    """True when Route 53 holds exactly `record` (same values, in any order)."""
    held = values_at(view, record.name, record.type)
    wanted = tuple(presentation(record.type, v) for v in record.values)
    return bool(held) and sorted(held) == sorted(wanted)


def route53_txt_value(text: str) -> str:
    """`text` as one Route 53 TXT value: quoted strings of at most 255 bytes each, `"` and `\\` backslash-escaped,
    control and non-ASCII bytes as `\\ooo` octal, as the Route 53 developer guide's TXT format asks."""
    data = text.encode("utf-8")
    chunks = [data[i : i + 255] for i in range(0, len(data), 255)] or [b""]
    return " ".join(f'"{_escape(chunk)}"' for chunk in chunks)


def _escape(chunk: bytes) -> str:
    out = []
    for byte in chunk:
        if byte in (0x22, 0x5C):
            out.append("\\" + chr(byte))
        elif byte < 0x20 or byte >= 0x7F:
            out.append(f"\\{byte:03o}")
        else:
            out.append(chr(byte))
    return "".join(out)
