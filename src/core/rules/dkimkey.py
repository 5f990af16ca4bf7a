"""The RSA modulus length of a published DKIM key (RFC 6376 §3.6.1), read from its DER without a crypto library."""

from __future__ import annotations

import base64
import binascii

_SEQUENCE, _INTEGER, _BIT_STRING, _OID = 0x30, 0x02, 0x03, 0x06
_RSA_ENCRYPTION = bytes.fromhex("2a864886f70d010101")  # 1.2.840.113549.1.1.1


class _DerError(ValueError):
    pass


def rsa_key_bits(txt: str) -> int | None:
    """Bits of the RSA key in `v=DKIM1; k=rsa; p=<base64>`; None for a revoked key (empty p=), another key type
    (k=ed25519) or anything unreadable. p= holds a SubjectPublicKeyInfo; a bare RSAPublicKey is accepted too."""
    tags = _tags(txt)
    if tags.get("k", "rsa").lower() != "rsa" or not tags.get("p"):
        return None
    try:
        der = base64.b64decode(tags["p"], validate=True)
        return _modulus_bits(der)
    except (binascii.Error, _DerError):
        return None


def _tags(txt: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    for part in txt.split(";"):
        name, equals, value = part.partition("=")
        if equals:
            # Base64 in DKIM may carry folding whitespace anywhere (RFC 6376 §3.6.1).
            tags.setdefault(name.strip().lower(), "".join(value.split()))
    return tags


def _modulus_bits(der: bytes) -> int:
    body, rest = _read(der, 0, _SEQUENCE)
    if rest != len(der):
        raise _DerError("trailing data")
    if body and body[0] == _SEQUENCE:  # SubjectPublicKeyInfo { AlgorithmIdentifier, BIT STRING }
        algorithm, offset = _read(body, 0, _SEQUENCE)
        oid, _ = _read(algorithm, 0, _OID)
        if oid != _RSA_ENCRYPTION:
            raise _DerError("not an RSA key")
        bits, _ = _read(body, offset, _BIT_STRING)
        if not bits or bits[0] != 0:
            raise _DerError("bit string with unused bits")
        body, _ = _read(bits[1:], 0, _SEQUENCE)
    modulus, _ = _read(body, 0, _INTEGER)  # RSAPublicKey { modulus, publicExponent }
    value = int.from_bytes(modulus, "big", signed=True)
    if value <= 0:
        raise _DerError("modulus is not positive")
    return value.bit_length()


def _read(data: bytes, offset: int, tag: int) -> tuple[bytes, int]:
    """The content of the DER element of `tag` at `offset`, and the offset after it."""
    if offset + 2 > len(data) or data[offset] != tag:
        raise _DerError("unexpected element")
    length, start = data[offset + 1], offset + 2
    if length & 0x80:
        size = length & 0x7F
        if size == 0 or size > 4 or start + size > len(data):
            raise _DerError("bad length")
        length, start = int.from_bytes(data[start : start + size], "big"), start + size
    end = start + length
    if end > len(data):
        raise _DerError("element runs past the data")
    return data[start:end], end
