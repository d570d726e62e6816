"""Text as XML 1.0 character data, for the query protocol's answers (SNS, errors)."""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

# XML 1.0's Char production (https://www.w3.org/TR/xml/#charsets): anything else — control
# characters a request can carry percent-encoded, lone surrogates — makes the whole document
# unparseable, so an SDK would fail on the answer instead of reading it.
_NOT_XML_CHAR = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: str) -> str:
    """``value`` escaped for XML, each character XML cannot carry replaced by U+FFFD."""
    return escape(_NOT_XML_CHAR.sub("\ufffd", value))
