"""The pure rules of RabbitMQ (Amazon MQ) event source mappings, with literals: the broker
ARN, what a Create or Update may set (botocore's shapes, then AWS's MQ rules), and when a
batch is ready."""

from __future__ import annotations

import pytest

from nimbus.errors import InvalidParameterValueError, ValidationError
from nimbus.events import mapping_rules
from nimbus.events import rabbitmq_rules as rules
from nimbus.model.event_source_mapping import MappingChanges, MappingSettings, SourceAccess

BROKER = "arn:aws:mq:us-east-1:123456789012:broker:orders:b-9bcfa592-423a-4942-879d-eb284b418fc8"
SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rabbit-AbCdEf"
AUTH = SourceAccess(type="BASIC_AUTH", uri=SECRET)
VHOST = SourceAccess(type="VIRTUAL_HOST", uri="shop")


def create(**changes: object) -> MappingSettings:
    given: dict[str, object] = {"queues": ("jobs",), "source_access": (AUTH,), **changes}
    return rules.apply_changes(
        rules.defaults("fn", None),
        MappingChanges(**given),  # type: ignore[arg-type]
        function_name="fn",
        qualifier=None,
        creating=True,
    )


def update(current: MappingSettings, **changes: object) -> MappingSettings:
    return rules.apply_changes(
        current,
        MappingChanges(**changes),  # type: ignore[arg-type]
        function_name="fn",
        qualifier=None,
        creating=False,
    )


# --- the broker --------------------------------------------------------------------------


def test_an_mq_arn_is_an_mq_source_and_names_its_broker() -> None:
    assert mapping_rules.source_kind(BROKER) == "mq"
    broker = rules.parse_broker(BROKER)
    assert (broker.name, broker.region, broker.account) == ("orders", "us-east-1", "123456789012")
    assert broker.broker_id.startswith("b-9bcf")


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:mq:us-east-1:123456789012:configuration:c-1",
        "arn:aws:mq:us-east-1:123456789012:broker:orders",
        "arn:aws:mq:us-east-1:123456789012:broker:has space:b-1",
    ],
)
def test_an_arn_that_is_not_a_brokers_is_refused(arn: str) -> None:
    with pytest.raises(InvalidParameterValueError, match="broker ARN"):
        rules.parse_broker(arn)


def test_a_broker_of_another_account_or_region_is_refused() -> None:
    broker = rules.parse_broker(BROKER)
    rules.check_owner(broker, region="us-east-1", account="123456789012")
    with pytest.raises(InvalidParameterValueError, match="another account"):
        rules.check_owner(broker, region="us-east-1", account="000000000000")
    with pytest.raises(InvalidParameterValueError):
        rules.check_owner(broker, region="eu-west-1", account="123456789012")


def test_functions_may_run_at_most_fourteen_minutes() -> None:
    rules.check_function_timeout(840)
    with pytest.raises(InvalidParameterValueError, match="840"):
        rules.check_function_timeout(841)


# --- settings ----------------------------------------------------------------------------


def test_defaults_are_awss_for_mq() -> None:
    settings = create()
    assert (settings.batch_size, settings.batching_window_s) == (100, 0)
    assert settings.default_window and rules.window_s(settings) == 0.5
    assert settings.queues == ("jobs",)
    assert rules.virtual_host(settings) == "/"
    assert rules.basic_auth_secret(settings) == "rabbit-AbCdEf"


def test_setting_the_window_leaves_the_500_ms_default_for_good() -> None:
    settings = create(batching_window_s=0)
    assert not settings.default_window and rules.window_s(settings) == 0.0
    assert rules.window_s(update(create(), batching_window_s=3)) == 3.0
    assert rules.window_s(update(settings, batch_size=5)) == 0.0


def test_ranges_are_botocores() -> None:
    assert create(batch_size=10_000).batch_size == 10_000
    with pytest.raises(ValidationError, match="batchSize"):
        create(batch_size=10_001)
    with pytest.raises(ValidationError, match="batchSize"):
        create(batch_size=0)
    with pytest.raises(ValidationError, match="maximumBatchingWindowInSeconds"):
        create(batching_window_s=301)


def test_exactly_one_queue_is_required_on_create_and_fixed_after() -> None:
    with pytest.raises(InvalidParameterValueError, match="Queues is required"):
        create(queues=None)
    with pytest.raises(ValidationError, match="less than or equal to 1"):
        create(queues=("a", "b"))
    with pytest.raises(ValidationError, match="greater than or equal to 1"):
        create(queues=())
    with pytest.raises(ValidationError, match=r"queues\.1\.member"):
        create(queues=("",))
    with pytest.raises(InvalidParameterValueError, match="cannot be updated"):
        update(create(), queues=("other",))


def test_basic_auth_must_name_a_secret() -> None:
    with pytest.raises(InvalidParameterValueError, match="BASIC_AUTH"):
        create(source_access=None)
    with pytest.raises(InvalidParameterValueError, match="BASIC_AUTH"):
        create(source_access=(VHOST,))
    with pytest.raises(InvalidParameterValueError, match="not a secret's ARN"):
        create(source_access=(SourceAccess(type="BASIC_AUTH", uri="rabbit"),))


def test_source_access_shapes_are_botocores_and_mq_takes_two_types() -> None:
    with pytest.raises(ValidationError, match="enum value set"):
        create(source_access=(AUTH, SourceAccess(type="KERBEROS", uri="x")))
    with pytest.raises(ValidationError, match="regular expression"):
        create(source_access=(AUTH, SourceAccess(type="VIRTUAL_HOST", uri="a#b")))
    with pytest.raises(InvalidParameterValueError, match="not supported for Amazon MQ"):
        create(source_access=(AUTH, SourceAccess(type="VPC_SUBNET", uri="subnet-1")))
    with pytest.raises(InvalidParameterValueError, match="one BASIC_AUTH"):
        create(source_access=(AUTH, AUTH))


def test_the_virtual_host_is_set_on_create_only_and_kept_by_updates() -> None:
    settings = create(source_access=(AUTH, VHOST))
    assert rules.virtual_host(settings) == "shop"
    other = SourceAccess(
        type="BASIC_AUTH", uri="arn:aws:secretsmanager:us-east-1:123456789012:secret:other"
    )
    updated = update(settings, source_access=(other,))
    assert updated.source_access == (other, VHOST)
    assert rules.basic_auth_secret(updated) == "other"
    with pytest.raises(InvalidParameterValueError, match="VIRTUAL_HOST cannot be specified"):
        update(settings, source_access=(other, VHOST))


def test_members_of_other_sources_are_refused_by_name() -> None:
    with pytest.raises(InvalidParameterValueError, match="StartingPosition"):
        create(other_parameters=("StartingPosition", "Queues"))
    with pytest.raises(InvalidParameterValueError, match="FunctionResponseTypes"):
        create(response_types=("ReportBatchItemFailures",))
    with pytest.raises(InvalidParameterValueError, match="ScalingConfig"):
        create(scaling_given=True, maximum_concurrency=5)
    # Queues and SourceAccessConfigurations are listed as "other" for the SQS rules only.
    assert create(other_parameters=("Queues", "SourceAccessConfigurations")).queues == ("jobs",)


def test_filters_are_checked_as_for_every_source() -> None:
    settings = create(filter_patterns=('{"data": {"kind": ["order"]}}',))
    assert settings.filter_patterns == ('{"data": {"kind": ["order"]}}',)
    with pytest.raises(InvalidParameterValueError, match="filter"):
        create(filter_patterns=("[1]",))


# --- batching ----------------------------------------------------------------------------


def progress(
    records: int, *, opened: float | None = 0.0, now: float = 0.0, size: int = 0
) -> rules.Progress:
    return rules.Progress(records=records, size_bytes=size, opened_at=opened, now=now)


def test_a_batch_is_ready_when_full_or_when_its_window_closes() -> None:
    assert not rules.batch_ready(progress(0, opened=None), batch_size=10, window_s=0.5)
    assert not rules.batch_ready(progress(3, now=0.4), batch_size=10, window_s=0.5)
    assert rules.batch_ready(progress(3, now=0.5), batch_size=10, window_s=0.5)
    assert rules.batch_ready(progress(10, now=0.0), batch_size=10, window_s=0.5)
    assert rules.batch_ready(
        progress(2, size=mapping_rules.PAYLOAD_LIMIT), batch_size=10, window_s=300
    )
    # A zero window invokes with whatever arrived first.
    assert rules.batch_ready(progress(1), batch_size=10, window_s=0)


def test_the_wait_for_the_next_message_is_what_is_left_of_the_window() -> None:
    assert rules.wait_for_next(progress(0, opened=None), window_s=0.5) is None
    assert rules.wait_for_next(progress(2, opened=10.0, now=10.2), window_s=0.5) == pytest.approx(
        0.3
    )
    assert rules.wait_for_next(progress(2, opened=10.0, now=11.0), window_s=0.5) == 0.0


def test_the_prefetch_is_one_batch_within_amqps_16_bits() -> None:
    assert rules.prefetch(100) == 100
    assert rules.prefetch(10_000) == 10_000
    assert rules.prefetch(100_000) == 65_535
    assert rules.queue_key("jobs", "/") == "jobs::/"
