"""The endpoints' lookup cache (pure, time passed in)."""

from __future__ import annotations

from nimbus.control.ttl_cache import TtlCache


def test_entries_expire_after_their_ttl_and_absence_is_cached_too() -> None:
    cache: TtlCache[str, int | None] = TtlCache(ttl_s=1.0)
    cache.put("a", 1, now=10.0)
    cache.put("missing", None, now=10.0)
    hit = cache.get("a", now=10.9)
    assert hit is not None and hit.value == 1
    absent = cache.get("missing", now=10.9)
    assert absent is not None and absent.value is None  # known absent: no store read
    assert cache.get("a", now=11.0) is None
    assert cache.get("never", now=10.0) is None


def test_the_least_recently_used_make_room_and_nothing_else_goes() -> None:
    cache: TtlCache[int, int] = TtlCache(ttl_s=60.0, max_entries=3)
    for key in (1, 2, 3):
        cache.put(key, key, now=0.0)
    assert cache.get(1, now=1.0) is not None  # 1 is now the most recent
    cache.put(4, 4, now=1.0)  # evicts 2, the least recently used
    assert cache.get(2, now=1.0) is None
    assert [k for k in (1, 3, 4) if cache.get(k, now=1.0) is not None] == [1, 3, 4]
    cache.pop(3)
    assert cache.get(3, now=1.0) is None
