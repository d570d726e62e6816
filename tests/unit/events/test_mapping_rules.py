"""The pure rules of event source mappings, with literals: which sources and settings AWS
accepts (and its messages), when a batch is ready, what a partial batch response means, and
how many pollers a mapping runs."""

from __future__ import annotations

import pytest

from nimbus.errors import InvalidParameterValueError, ValidationError
from nimbus.events import mapping_rules as rules
from nimbus.events.mapping_rules import BatchState, Scale
from nimbus.model.event_source_mapping import MappingChanges, MappingSettings

QUEUE = "arn:aws:sqs:us-east-1:123456789012:jobs"


def apply(changes: MappingChanges, current: MappingSettings | None = None) -> MappingSettings:
    base = current or rules.defaults(rules.SQS, "fn", None)
    return rules.apply_changes(rules.SQS, base, changes, function_name="fn", qualifier=None)


# --- sources -----------------------------------------------------------------------------


def test_an_sqs_queue_arn_is_an_sqs_source() -> None:
    assert rules.source_kind(QUEUE) == "sqs"


@pytest.mark.parametrize(
    ("arn", "named"),
    [
        ("arn:aws:kinesis:us-east-1:123456789012:stream/s", "Kinesis streams"),
        (
            "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2024-01-01T00:00:00.000",
            "DynamoDB streams",
        ),
        ("arn:aws:kafka:us-east-1:123456789012:cluster/c/x", "Amazon MSK"),
    ],
)
def test_other_sources_are_refused_as_not_supported_yet(arn: str, named: str) -> None:
    with pytest.raises(InvalidParameterValueError) as caught:
        rules.source_kind(arn)
    assert named in caught.value.message
    assert "not supported yet" in caught.value.message


def test_a_missing_or_malformed_source_arn_is_refused() -> None:
    with pytest.raises(InvalidParameterValueError, match="Unrecognized event source"):
        rules.source_kind(None)
    with pytest.raises(ValidationError, match="eventSourceArn"):
        rules.source_kind("jobs")


# --- settings ----------------------------------------------------------------------------


def test_sqs_defaults_are_batch_10_no_window_enabled() -> None:
    settings = apply(MappingChanges())
    assert (settings.batch_size, settings.batching_window_s, settings.enabled) == (10, 0, True)
    assert settings.maximum_concurrency is None and settings.response_types == ()


def test_a_batch_over_10_needs_a_batching_window() -> None:
    with pytest.raises(InvalidParameterValueError) as caught:
        apply(MappingChanges(batch_size=11))
    assert caught.value.message == (
        "Maximum batch window in seconds must be greater than 0 if maximum batch size is "
        "greater than 10"
    )
    assert apply(MappingChanges(batch_size=10_000, batching_window_s=1)).batch_size == 10_000


def test_an_update_is_checked_against_the_merged_settings() -> None:
    windowed = apply(MappingChanges(batch_size=50, batching_window_s=5))
    with pytest.raises(InvalidParameterValueError, match="Maximum batch window"):
        apply(MappingChanges(batching_window_s=0), windowed)
    assert apply(MappingChanges(batch_size=20), windowed).batch_size == 20


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (MappingChanges(batch_size=0), "'0' at 'batchSize'.*greater than or equal to 1"),
        (
            MappingChanges(batch_size=10_001, batching_window_s=1),
            "'10001' at 'batchSize'.*less than or equal to 10000",
        ),
        (MappingChanges(batching_window_s=301), "maximumBatchingWindowInSeconds.*300"),
        (
            MappingChanges(scaling_given=True, maximum_concurrency=1),
            "scalingConfig.maximumConcurrency.*greater than or equal to 2",
        ),
        (
            MappingChanges(scaling_given=True, maximum_concurrency=1001),
            "less than or equal to 1000",
        ),
        (MappingChanges(response_types=("Nope",)), "enum value set: \\[ReportBatchItemFailures"),
    ],
)
def test_values_outside_botocores_ranges_are_validation_errors(
    changes: MappingChanges, expected: str
) -> None:
    with pytest.raises(ValidationError, match=expected):
        apply(changes)


def test_parameters_of_other_sources_are_refused_by_name() -> None:
    with pytest.raises(InvalidParameterValueError) as caught:
        apply(MappingChanges(other_parameters=("StartingPosition", "MaximumRetryAttempts")))
    assert "StartingPosition, MaximumRetryAttempts" in caught.value.message


def test_scaling_config_sets_and_an_empty_one_clears_the_limit() -> None:
    limited = apply(MappingChanges(scaling_given=True, maximum_concurrency=5))
    assert limited.maximum_concurrency == 5
    assert apply(MappingChanges(batch_size=3), limited).maximum_concurrency == 5
    assert apply(MappingChanges(scaling_given=True), limited).maximum_concurrency is None


def test_filter_patterns_must_be_json_objects() -> None:
    assert apply(MappingChanges(filter_patterns=('{"body": {"a": [1]}}',))).filter_patterns
    with pytest.raises(InvalidParameterValueError, match="Invalid filter pattern"):
        apply(MappingChanges(filter_patterns=("[1]",)))
    with pytest.raises(InvalidParameterValueError, match="Invalid filter pattern"):
        apply(MappingChanges(filter_patterns=("{",)))


def test_the_queue_must_stay_invisible_as_long_as_the_function_may_run() -> None:
    rules.check_visibility(30, 30)
    with pytest.raises(InvalidParameterValueError) as caught:
        rules.check_visibility(30, 60)
    assert caught.value.message == (
        "Queue visibility timeout: 30 seconds is less than Function timeout: 60 seconds"
    )


# --- batching ----------------------------------------------------------------------------


def state(records: int, *, opened: float | None = 100.0, now: float = 100.0) -> BatchState:
    return BatchState(records=records, size_bytes=records * 100, opened_at=opened, now=now)


def test_without_a_window_whatever_one_receive_returned_is_a_batch() -> None:
    assert not rules.batch_ready(state(0, opened=None), batch_size=10, window_s=0)
    assert rules.batch_ready(state(1), batch_size=10, window_s=0)


def test_with_a_window_a_batch_waits_until_full_or_the_window_closes() -> None:
    assert not rules.batch_ready(state(3, now=104.9), batch_size=10, window_s=5)
    assert rules.batch_ready(state(3, now=105.0), batch_size=10, window_s=5)
    assert rules.batch_ready(state(10, now=100.0), batch_size=10, window_s=5)


def test_a_batch_closes_at_the_payload_limit() -> None:
    big = BatchState(records=2, size_bytes=rules.PAYLOAD_LIMIT, opened_at=100.0, now=100.0)
    assert rules.batch_ready(big, batch_size=10, window_s=300)
    assert rules.fits(0, 2 * rules.PAYLOAD_LIMIT, 0)  # the first record always fits
    assert not rules.fits(rules.PAYLOAD_LIMIT - 10, 11, 1)


def test_receives_long_poll_when_empty_and_wait_out_the_window_when_open() -> None:
    assert rules.next_receive(state(0, opened=None), batch_size=10, window_s=0) == (10, 20)
    assert rules.next_receive(state(0, opened=None), batch_size=3, window_s=0) == (3, 20)
    assert rules.next_receive(state(4, now=101.5), batch_size=100, window_s=5) == (10, 4)
    assert rules.next_receive(state(4, now=100.0), batch_size=100, window_s=300) == (10, 20)
    assert rules.next_receive(state(8, now=100.0), batch_size=9, window_s=5) == (1, 5)


# --- partial batch responses -------------------------------------------------------------

IDS = ["a", "b", "c"]


@pytest.mark.parametrize(
    "payload",
    [b"", b"null", b"{}", b'{"batchItemFailures": []}', b'{"batchItemFailures": null}'],
)
def test_an_empty_or_null_response_is_complete_success(payload: bytes) -> None:
    assert rules.failed_items(payload, IDS) == frozenset()


def test_named_items_fail_and_the_rest_succeed() -> None:
    payload = b'{"batchItemFailures": [{"itemIdentifier": "b"}, {"itemIdentifier": "c"}]}'
    assert rules.failed_items(payload, IDS) == frozenset({"b", "c"})


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b'"ok"',
        b'{"batchItemFailures": "b"}',
        b'{"batchItemFailures": [{"itemIdentifier": ""}]}',
        b'{"batchItemFailures": [{"itemIdentifier": null}]}',
        b'{"batchItemFailures": [{"id": "b"}]}',
        b'{"batchItemFailures": [{"itemIdentifier": "zzz"}]}',
    ],
)
def test_a_malformed_response_fails_the_whole_batch(payload: bytes) -> None:
    assert rules.failed_items(payload, IDS) is rules.ALL_FAILED


# --- scaling -----------------------------------------------------------------------------


def test_five_pollers_to_start_never_more_than_maximum_concurrency() -> None:
    assert rules.scale_bounds(None, 1000) == Scale(floor=5, ceiling=1000)
    assert rules.scale_bounds(2, 1000) == Scale(floor=2, ceiling=2)
    assert rules.scale_bounds(50, 1000) == Scale(floor=5, ceiling=50)


def test_full_batches_add_pollers_at_aws_rate_and_idle_ones_go() -> None:
    bounds = Scale(floor=5, ceiling=7)
    assert rules.next_pollers(5, "full", bounds, now=10.0, last_scale_up=9.0) == 6
    assert rules.next_pollers(5, "full", bounds, now=10.0, last_scale_up=9.9) == 5  # 300/min
    assert rules.next_pollers(7, "full", bounds, now=10.0, last_scale_up=0.0) == 7
    assert rules.next_pollers(7, "empty", bounds, now=10.0, last_scale_up=0.0) == 6
    assert rules.next_pollers(6, "throttled", bounds, now=10.0, last_scale_up=0.0) == 5
    assert rules.next_pollers(5, "empty", bounds, now=10.0, last_scale_up=0.0) == 5
    assert rules.next_pollers(6, "partial", bounds, now=10.0, last_scale_up=0.0) == 6


def test_back_off_doubles_up_to_its_cap() -> None:
    delays = [rules.backoff_s(n, initial_s=1.0, max_s=10.0) for n in range(6)]
    assert delays == [0.0, 1.0, 2.0, 4.0, 8.0, 10.0]
