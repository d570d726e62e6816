"""Per-function and account metrics: Invocations, Errors, Throttles, ConcurrentExecutions,
Duration — kept in memory and exported in Prometheus text format and as JSON."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from nimbus.errors import TooManyRequestsError


@dataclass(kw_only=True)
class FunctionMetrics:
    invocations: int = 0
    errors: int = 0
    throttles: int = 0
    cold_starts: int = 0
    # Invocations refused by recursive loop detection (AWS's RecursiveInvocationsDropped).
    recursive_invocations_dropped: int = 0
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
            "RecursiveInvocationsDropped": self.recursive_invocations_dropped,
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
        # Our own registry: the global one would add process metrics and be shared by every
        # Metrics in the process (tests build several).
        self._registry = CollectorRegistry()
        self._registry.register(MetricsCollector(self))

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

    def recursion_dropped(self, name: str) -> None:
        self.functions[name].recursive_invocations_dropped += 1
        self.account.recursive_invocations_dropped += 1

    def snapshot(self) -> dict[str, object]:
        return {
            "Account": self.account.as_json(),
            "Functions": {name: m.as_json() for name, m in sorted(self.functions.items())},
        }

    def prometheus(self) -> bytes:
        """The Prometheus text exposition of every figure, read now."""
        return generate_latest(self._registry)


@dataclass(frozen=True)
class Exported:
    """How one `FunctionMetrics.as_json` figure is exported to Prometheus."""

    key: str  # the as_json key
    name: str  # the sample name
    counter: bool
    help: str


EXPORTED = (
    Exported("Invocations", "nimbus_invocations_total", True, "Invocations that ran."),
    Exported("Errors", "nimbus_errors_total", True, "Invocations that ended in an error."),
    Exported("Throttles", "nimbus_throttles_total", True, "Invokes refused for concurrency."),
    Exported("ColdStarts", "nimbus_cold_starts_total", True, "Invocations on a new environment."),
    Exported(
        "RecursiveInvocationsDropped",
        "nimbus_recursive_invocations_dropped_total",
        True,
        "Invocations stopped by recursive loop detection.",
    ),
    Exported(
        "ConcurrentExecutions", "nimbus_concurrent_executions", False, "Invocations in flight."
    ),
    Exported(
        "MaxConcurrentExecutions",
        "nimbus_max_concurrent_executions",
        False,
        "Most invocations in flight at once since start-up.",
    ),
    Exported("DurationAverage", "nimbus_duration_ms_average", False, "Mean duration (ms)."),
    Exported("DurationMaximum", "nimbus_duration_ms_maximum", False, "Longest duration (ms)."),
)


class MetricsCollector(Collector):
    """Reads `Metrics` at scrape time: every family has an unlabelled account-wide sample and
    one sample per function, labelled ``function``."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        # Each figure set is built once per scrape, not once per exported family.
        account = self._metrics.account.as_json()
        rows = sorted((name, m.as_json()) for name, m in self._metrics.functions.items())
        for exported in EXPORTED:
            family: CounterMetricFamily | GaugeMetricFamily
            if exported.counter:
                # The family is named without `_total`; its samples get the suffix back.
                family = CounterMetricFamily(exported.name, exported.help, labels=["function"])
            else:
                family = GaugeMetricFamily(exported.name, exported.help, labels=["function"])
            family.add_metric([], account[exported.key])  # no label value: the account
            for function, values in rows:
                family.add_metric([function], values[exported.key])
            yield family
