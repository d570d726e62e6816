"""Recursive loop detection's count, carried in the X-Ray trace header (pure).

AWS (Lambda developer guide, "Recursive loop detection"; the Compute blog post announcing
it): Lambda tracks a chain of invocations with the trace header's ``Lineage`` field —
``X-Amzn-Trace-Id`` on API calls, ``Lambda-Runtime-Trace-Id`` / ``_X_AMZN_TRACE_ID`` inside
the function (botocore's ``add_recursion_detection_header`` forwards it on every SDK call),
SQS's ``AWSTraceHeader`` system attribute on messages. The field holds one
``<function hash>:<count>`` entry per function of the chain, joined by ``|``
(``Root=1-...;Parent=...;Sampled=0;Lineage=a87bd80c:1|68fd508a:5``); a function's first
invocation runs with count 0 (``Lineage=12326a9d:0``). "If your function is invoked with the
same triggering event more than 16 times, Lambda stops the next invocation": the 17th.

Nimbus's hash is the first 8 hex digits of the function ARN's SHA-256 (AWS's is opaque).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import unquote

MAX_INVOCATIONS = 16
_KNOWN = ("Root", "Parent", "Sampled")
# A header is at most a few hundred bytes in practice; a caller's longer one is cut, so a
# hostile header cannot grow every hop's header without bound.
MAX_ENTRIES = 32


@dataclass(frozen=True, kw_only=True)
class TraceHeader:
    root: str | None = None
    parent: str | None = None
    sampled: str | None = None
    # (function hash, count) in the order the chain met them.
    lineage: tuple[tuple[str, int], ...] = ()


def function_hash(function_arn: str) -> str:
    """The lineage key of a function: its unqualified ARN, hashed (a loop through a version
    or alias is the same function looping)."""
    return hashlib.sha256(function_arn.encode()).hexdigest()[:8]


def _entries(text: str) -> tuple[tuple[str, int], ...]:
    entries: list[tuple[str, int]] = []
    for part in text.split("|"):
        key, sep, count = part.strip().partition(":")
        # Some services append a third field (":<hops>:<version>"); the count comes second.
        count = count.split(":", 1)[0]
        if not sep or not key or not (count.isascii() and count.isdigit()) or len(count) > 6:
            continue  # malformed entries are ignored, never an error (AWS drops them too)
        entries.append((key, int(count)))
    return tuple(entries[:MAX_ENTRIES])


def parse(header: str | None) -> TraceHeader:
    """The fields of an X-Ray trace header; anything unparsable is simply absent."""
    if not header:
        return TraceHeader()
    if "%" in header:
        # botocore's recursion detection handler URL-quotes ``_X_AMZN_TRACE_ID`` into the
        # X-Amzn-Trace-Id it sends (``|`` becomes ``%7C``); the header means the unquoted text.
        header = unquote(header)
    fields: dict[str, str] = {}
    for part in header.split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key and key not in fields:
            fields[key] = value.strip()
    return TraceHeader(
        root=fields.get("Root") or None,
        parent=fields.get("Parent") or None,
        sampled=fields.get("Sampled") or None,
        lineage=_entries(fields.get("Lineage", "")),
    )


def render(header: TraceHeader) -> str:
    parts = [
        f"{key}={value}"
        for key, value in zip(_KNOWN, (header.root, header.parent, header.sampled), strict=True)
        if value is not None
    ]
    if header.lineage:
        parts.append("Lineage=" + "|".join(f"{key}:{count}" for key, count in header.lineage))
    return ";".join(parts)


def prior_invocations(header: TraceHeader, function_arn: str) -> int:
    """How many times the function already ran in this chain: the caller's entry for it is
    the count of the invocation that sent the event (0 for the first)."""
    key = function_hash(function_arn)
    for entry, count in header.lineage:
        if entry == key:
            return count + 1
    return 0


def is_loop_to_stop(prior: int) -> bool:
    """AWS stops the invocation after the 16th of the same function in one chain."""
    return prior >= MAX_INVOCATIONS


def next_hop(
    incoming: str | None, function_arn: str, *, new_root: str, new_parent: str
) -> tuple[str, int]:
    """The trace header this invocation runs with (what its SDK calls forward), and how many
    times the function ran before in the chain. The Root continues the caller's trace; the
    function's lineage entry is set to its count, the other functions' entries kept."""
    header = parse(incoming)
    prior = prior_invocations(header, function_arn)
    key = function_hash(function_arn)
    lineage: Sequence[tuple[str, int]] = [
        (entry, count) for entry, count in header.lineage if entry != key
    ]
    updated = TraceHeader(
        root=header.root or new_root,
        parent=new_parent,
        sampled=header.sampled or "0",
        lineage=(*lineage, (key, prior))[-MAX_ENTRIES:],
    )
    return render(updated), prior
