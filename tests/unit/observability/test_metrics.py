"""The Prometheus exposition, parsed back with prometheus-client's own parser."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from nimbus.errors import TooManyRequestsError
from nimbus.observability.metrics import EXPORTED, FunctionMetrics, Metrics


def samples(metrics: Metrics) -> dict[str, list[Sample]]:
    """Family name -> its samples, from the text a scrape returns."""
    text = metrics.prometheus().decode()
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


def value(rows: list[Sample], name: str, labels: dict[str, str]) -> float:
    (match,) = [s.value for s in rows if s.name == name and s.labels == labels]
    return match


def test_account_and_per_function_figures() -> None:
    metrics = Metrics()
    metrics.invoked("a", duration_ms=10.0, error=False, cold=True)
    metrics.invoked("a", duration_ms=30.0, error=True, cold=False)
    metrics.invoked("b", duration_ms=5.0, error=False, cold=True)
    metrics.failed_to_start("b", TooManyRequestsError("Rate Exceeded.", Reason="ReservedFunction"))
    metrics.concurrency("a", 3)
    metrics.concurrency("a", 1)

    families = samples(metrics)

    invocations = families["nimbus_invocations"]
    assert value(invocations, "nimbus_invocations_total", {}) == 3
    assert value(invocations, "nimbus_invocations_total", {"function": "a"}) == 2
    assert value(invocations, "nimbus_invocations_total", {"function": "b"}) == 1
    assert value(families["nimbus_errors"], "nimbus_errors_total", {"function": "a"}) == 1
    assert value(families["nimbus_throttles"], "nimbus_throttles_total", {}) == 1
    assert value(families["nimbus_cold_starts"], "nimbus_cold_starts_total", {}) == 2
    concurrent = families["nimbus_concurrent_executions"]
    assert value(concurrent, "nimbus_concurrent_executions", {"function": "a"}) == 1
    peak = families["nimbus_max_concurrent_executions"]
    assert value(peak, "nimbus_max_concurrent_executions", {"function": "a"}) == 3
    average = families["nimbus_duration_ms_average"]
    assert value(average, "nimbus_duration_ms_average", {"function": "a"}) == 20.0
    assert value(average, "nimbus_duration_ms_average", {}) == 15.0
    maximum = families["nimbus_duration_ms_maximum"]
    assert value(maximum, "nimbus_duration_ms_maximum", {}) == 30.0


def test_every_family_is_typed_and_has_one_sample_per_function_plus_the_account() -> None:
    metrics = Metrics()
    metrics.invoked("a", duration_ms=1.0, error=False, cold=False)
    metrics.invoked("b", duration_ms=1.0, error=False, cold=False)
    text = metrics.prometheus().decode()
    families = {family.name: family for family in text_string_to_metric_families(text)}
    assert len(families) == len(EXPORTED)
    for exported in EXPORTED:
        family = families[exported.name.removesuffix("_total")]
        assert family.type == ("counter" if exported.counter else "gauge")
        assert [s.labels for s in family.samples] == [{}, {"function": "a"}, {"function": "b"}]
        assert {s.name for s in family.samples} == {exported.name}
    for counter in ("invocations", "errors", "throttles", "cold_starts"):
        assert f"# TYPE nimbus_{counter}_total counter\n" in text


def test_figures_are_read_at_scrape_time() -> None:
    metrics = Metrics()
    before = samples(metrics)["nimbus_invocations"]
    assert [(s.labels, s.value) for s in before] == [({}, 0.0)]
    metrics.invoked("late", duration_ms=1.0, error=False, cold=False)
    after = samples(metrics)["nimbus_invocations"]
    assert value(after, "nimbus_invocations_total", {"function": "late"}) == 1


def test_each_figure_set_is_built_once_per_scrape(monkeypatch: pytest.MonkeyPatch) -> None:
    metrics = Metrics()
    for name in ("a", "b", "c"):
        metrics.invoked(name, duration_ms=1.0, error=False, cold=False)
    calls: list[int] = []
    real = FunctionMetrics.as_json

    def counted(self: FunctionMetrics) -> dict[str, float]:
        calls.append(1)
        return real(self)

    monkeypatch.setattr(FunctionMetrics, "as_json", counted)
    metrics.prometheus()
    assert len(calls) == 4  # the account and three functions, not once per family


def test_function_names_are_escaped_in_label_values() -> None:
    metrics = Metrics()
    metrics.invoked('odd"name\\', duration_ms=1.0, error=False, cold=False)
    rows = samples(metrics)["nimbus_invocations"]
    assert value(rows, "nimbus_invocations_total", {"function": 'odd"name\\'}) == 1
