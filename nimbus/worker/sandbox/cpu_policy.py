"""How much CPU an environment gets, as the cgroup files to write after Init (pure).

AWS gives a function CPU in proportion to its memory: 1,769 MB = one vCPU. Two ways to
keep that proportion on one machine:

- ``shares`` (the default): proportional *weights* (cgroup v1 ``cpu.shares``, v2
  ``cpu.weight``), one CPU's worth of weight at 1,769 MB. Under contention environments get
  CPU in proportion to their memory, as on AWS; on an idle machine nothing is throttled, so
  a 128 MB function answers as fast as a 1,769 MB one.
- ``quota``: the hard CFS bandwidth limit (v1 ``cpu.cfs_quota_us``, v2 ``cpu.max``), for
  production-like timing: a 128 MB function gets 7% of a CPU even on an idle machine. Where
  the kernel has CFS burst (5.14+: v1 ``cpu.cfs_burst_us``, v2 ``cpu.max.burst``) an
  environment that was idle may bank up to one period's quota, which shortens the stall a
  short invocation hits right after a wait.
"""

from __future__ import annotations

from enum import StrEnum

MB_PER_VCPU = 1769
# v1 weights: the kernel's default (one nice-0 task, one CPU's worth) and its bounds.
SHARES_PER_VCPU = 1024
MIN_SHARES = 2
MAX_SHARES = 262_144
# v2 weights: the default and the range cgroup v2 accepts.
WEIGHT_PER_VCPU = 100
MIN_WEIGHT = 1
MAX_WEIGHT = 10_000
# A short period bounds how long a throttled environment stalls (a 128 MB function gets
# 7% of a CPU: with 100 ms periods that is a 93 ms stall; with 20 ms, under 19 ms).
CPU_PERIOD_US = 20_000
MIN_QUOTA_US = 1000  # the kernel refuses quotas under 1 ms


class CpuLimit(StrEnum):
    """NIMBUS_CPU_LIMIT: how environments' CPU is held to their memory size."""

    SHARES = "shares"
    QUOTA = "quota"


def parse_cpu_limit(text: str) -> CpuLimit:
    """The setting's value; raises ValueError naming the accepted ones."""
    try:
        return CpuLimit(text.strip().lower())
    except ValueError:
        accepted = " | ".join(limit.value for limit in CpuLimit)
        raise ValueError(f"unknown CPU limit {text!r} (accepted: {accepted})") from None


def cpu_shares(memory_mb: int) -> int:
    """cgroup v1 ``cpu.shares``: 1024 at 1,769 MB, linear in memory, at least 2."""
    return min(MAX_SHARES, max(MIN_SHARES, round(SHARES_PER_VCPU * memory_mb / MB_PER_VCPU)))


def cpu_weight(memory_mb: int) -> int:
    """cgroup v2 ``cpu.weight``: 100 at 1,769 MB, linear in memory, within 1-10000."""
    return min(MAX_WEIGHT, max(MIN_WEIGHT, round(WEIGHT_PER_VCPU * memory_mb / MB_PER_VCPU)))


def cpu_quota_us(memory_mb: int, cpus: int) -> int:
    """Quota per CPU_PERIOD_US for a function of ``memory_mb``: 1,769 MB = 1 vCPU, capped at
    the host's CPUs."""
    share = min(memory_mb / MB_PER_VCPU, float(cpus))
    return max(MIN_QUOTA_US, int(share * CPU_PERIOD_US))


def cpu_writes(
    limit: CpuLimit, memory_mb: int, *, v2: bool, cpus: int, burst: bool
) -> tuple[tuple[str, str], ...]:
    """The (file, value) writes, in order, that give an environment of ``memory_mb`` its CPU
    under ``limit``; ``burst`` says whether the kernel has the CFS burst file."""
    if limit is CpuLimit.SHARES:
        if v2:
            return (("cpu.weight", str(cpu_weight(memory_mb))),)
        return (("cpu.shares", str(cpu_shares(memory_mb))),)
    quota = cpu_quota_us(memory_mb, cpus)
    # The kernel refuses a burst larger than the quota: bank at most one period's worth.
    if v2:
        writes = [("cpu.max", f"{quota} {CPU_PERIOD_US}")]
        if burst:
            writes.append(("cpu.max.burst", str(quota)))
        return tuple(writes)
    writes = [("cpu.cfs_period_us", str(CPU_PERIOD_US)), ("cpu.cfs_quota_us", str(quota))]
    if burst:
        writes.append(("cpu.cfs_burst_us", str(quota)))
    return tuple(writes)


def burst_file(v2: bool) -> str:
    """The CFS burst control's file name (present only on kernels that have it)."""
    return "cpu.max.burst" if v2 else "cpu.cfs_burst_us"
