"""A bounded cache of lookups that expire: what the HTTP endpoints keep of the function URLs
and HTTP APIs they serve, so a burst of requests costs one store read, a change on this node
applies at once (the services write through), and one on another node within ``ttl_s``.
Unknown ids are cached too (as None), so a client spraying random ids costs one read per id,
and the least recently used entries make room: the cache never outgrows ``max_entries``."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class Cached(Generic[V]):
    value: V
    expires: float  # monotonic


class TtlCache(Generic[K, V]):
    def __init__(self, *, ttl_s: float, max_entries: int = 4096) -> None:
        self._ttl_s = ttl_s
        self._max = max_entries
        self._entries: OrderedDict[K, Cached[V]] = OrderedDict()

    def get(self, key: K, *, now: float) -> Cached[V] | None:
        """The live entry for ``key`` (its value may be None: known to be absent)."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires <= now:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry

    def put(self, key: K, value: V, *, now: float) -> None:
        self._entries[key] = Cached(value, now + self._ttl_s)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def pop(self, key: K) -> None:
        self._entries.pop(key, None)
