"""Per-function and account metrics: Invocations, Errors, Throttles, ConcurrentExecutions,
Duration — kept in memory and exported in Prometheus text format and as JSON."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from nimbus.errors import TooManyRequestsError


@dataclass(kw_only=True)
class FunctionMetrics:
    invocations: int = 0
    errors: int = 0
    throttles: int = 0
    cold_starts: int = 0
    concurrent_executions: int = 0
    max_concurrent_executions: int = 0
    duration_ms_sum: float = 0.0
    duration_ms_max: float = 0.0
    durations: list[float] = field(default_factory=list)  # recent, bounded

    def as_json(self) -> dict[str, float]:
        recent = sorted(self.durations)
        p50 = recent[len(recent) // 2] if recent else 0.0
        p99 = recent[min(len(recent) - 1, int(len(recent) * 0.99))] if recent else 0.0
        return {
            "Invocations": self.invocations,
            "Errors": self.errors,
            "Throttles": self.throttles,
            "ColdStarts": self.cold_starts,
            "ConcurrentExecutions": self.concurrent_executions,
            "MaxConcurrentExecutions": self.max_concurrent_executions,
            "DurationAverage": self.duration_ms_sum / self.invocations if self.invocations else 0,
            "DurationMaximum": self.duration_ms_max,
            "DurationP50": p50,
            "DurationP99": p99,
        }


RECENT = 1000


class Metrics:
    def __init__(self) -> None:
        self.functions: dict[str, FunctionMetrics] = defaultdict(FunctionMetrics)
        self.account = FunctionMetrics()

    def concurrency(self, name: str, in_flight: int) -> None:
        fn = self.functions[name]
        fn.concurrent_executions = in_flight
        fn.max_concurrent_executions = max(fn.max_concurrent_executions, in_flight)

    def account_concurrency(self, in_flight: int) -> None:
        self.account.concurrent_executions = in_flight
        self.account.max_concurrent_executions = max(
            self.account.max_concurrent_executions, in_flight
        )

    def invoked(self, name: str, *, duration_ms: float, error: bool, cold: bool) -> None:
        for target in (self.functions[name], self.account):
            target.invocations += 1
            target.errors += 1 if error else 0
            target.cold_starts += 1 if cold else 0
            target.duration_ms_sum += duration_ms
            target.duration_ms_max = max(target.duration_ms_max, duration_ms)
            target.durations.append(duration_ms)
            if len(target.durations) > RECENT:
                del target.durations[: len(target.durations) - RECENT]

    def failed_to_start(self, name: str, exc: Exception) -> None:
        if isinstance(exc, TooManyRequestsError):
            self.functions[name].throttles += 1
            self.account.throttles += 1

    def snapshot(self) -> dict[str, object]:
        return {
            "Account": self.account.as_json(),
            "Functions": {name: m.as_json() for name, m in sorted(self.functions.items())},
        }

    def prometheus(self) -> str:
        lines: list[str] = []
        names = {
            "Invocations": ("nimbus_invocations_total", "counter"),
            "Errors": ("nimbus_errors_total", "counter"),
            "Throttles": ("nimbus_throttles_total", "counter"),
            "ColdStarts": ("nimbus_cold_starts_total", "counter"),
            "ConcurrentExecutions": ("nimbus_concurrent_executions", "gauge"),
            "MaxConcurrentExecutions": ("nimbus_max_concurrent_executions", "gauge"),
            "DurationAverage": ("nimbus_duration_ms_average", "gauge"),
            "DurationMaximum": ("nimbus_duration_ms_maximum", "gauge"),
        }
        rows = {name: m.as_json() for name, m in self.functions.items()}
        account = self.account.as_json()
        for key, (metric, kind) in names.items():
            lines.append(f"# TYPE {metric} {kind}")
            lines.append(f"{metric} {account[key]}")
            for function, values in sorted(rows.items()):
                lines.append(f'{metric}{{function="{function}"}} {values[key]}')
        return "\n".join(lines) + "\n"
