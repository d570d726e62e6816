from __future__ import annotations

from nimbus.dataplane.pool_policy import (
    HostSnapshot,
    IdleEnv,
    choose_host,
    evictions_for,
    expired,
    pick_warm,
)


def env(
    id: str,
    last_used: float,
    *,
    host: str = "h1",
    mem: int = 128,
    key: str = "k",
    provisioned: bool = False,
) -> IdleEnv:
    return IdleEnv(
        id=id,
        host_id=host,
        pool_key=key,
        memory_mb=mem,
        last_used=last_used,
        provisioned=provisioned,
    )


def test_pick_warm_prefers_provisioned_then_most_recent() -> None:
    assert pick_warm([]) is None
    assert pick_warm([env("a", 1), env("b", 3), env("c", 2)]) == env("b", 3)
    assert pick_warm([env("a", 1, provisioned=True), env("b", 3)]) == env("a", 1, provisioned=True)


def test_expired_spares_provisioned_and_recent() -> None:
    idle = [env("old", 0), env("new", 95), env("prov", 0, provisioned=True)]
    assert [e.id for e in expired(idle, now=100, keep_alive_s=10)] == ["old"]


def test_choose_host_most_free_that_fits() -> None:
    hosts = [
        HostSnapshot(id="a", budget_mb=1000, used_mb=900),
        HostSnapshot(id="b", budget_mb=1000, used_mb=500),
    ]
    assert choose_host(hosts, 128) == hosts[1]
    assert choose_host(hosts, 600) is None


def test_evictions_lru_first_and_minimal() -> None:
    hosts = [HostSnapshot(id="h1", budget_mb=512, used_mb=512)]
    idle = [env("newest", 30), env("oldest", 10), env("middle", 20)]
    host, victims = evictions_for(hosts, idle, 256) or (None, [])
    assert host == hosts[0]
    assert [v.id for v in victims] == ["oldest", "middle"]


def test_evictions_never_touch_provisioned_and_may_be_impossible() -> None:
    hosts = [HostSnapshot(id="h1", budget_mb=256, used_mb=256)]
    assert evictions_for(hosts, [env("p", 1, provisioned=True, mem=256)], 128) is None
    assert evictions_for([HostSnapshot(id="h1", budget_mb=100, used_mb=0)], [], 128) is None


def test_evictions_pick_host_needing_fewest_victims() -> None:
    hosts = [
        HostSnapshot(id="h1", budget_mb=512, used_mb=512),
        HostSnapshot(id="h2", budget_mb=512, used_mb=512),
    ]
    idle = [env("a", 1, host="h1"), env("b", 2, host="h1"), env("c", 3, host="h2", mem=256)]
    host, victims = evictions_for(hosts, idle, 256) or (None, [])
    assert host is not None and host.id == "h2"
    assert [v.id for v in victims] == ["c"]
