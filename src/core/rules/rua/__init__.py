"""DMARC aggregate reports (RFC 9990, and the RFC 7489 format still sent): unpacking what receivers mail, parsing
the XML, per-domain daily aggregates and the verdict over a window. Pure: bytes in, typed values out."""
