"""A mapping's settings survive the store's JSON column, RabbitMQ's included, and rows written
before those fields existed still load."""

from __future__ import annotations

import orjson

from nimbus.model.event_source_mapping import EventSourceMapping, MappingSettings, SourceAccess


def roundtrip(mapping: EventSourceMapping) -> EventSourceMapping:
    return EventSourceMapping.from_record(
        uuid=mapping.uuid,
        function=mapping.settings.function_name,
        source_arn=mapping.source_arn,
        state=mapping.state,
        last_modified=mapping.last_modified,
        config=orjson.loads(orjson.dumps(mapping.to_record())),
    )


def test_rabbitmq_settings_survive_the_store() -> None:
    mapping = EventSourceMapping(
        uuid="u-1",
        source_arn="arn:aws:mq:us-east-1:000000000000:broker:local:b-1",
        last_modified=1_700_000_000.0,
        settings=MappingSettings(
            function_name="fn",
            batch_size=100,
            queues=("jobs",),
            source_access=(
                SourceAccess(type="BASIC_AUTH", uri="arn:aws:secretsmanager:::secret:s"),
                SourceAccess(type="VIRTUAL_HOST", uri="shop"),
            ),
            default_window=True,
            filter_patterns=('{"data": {"n": [1]}}',),
        ),
    )
    assert roundtrip(mapping) == mapping


def test_rows_from_before_the_rabbitmq_fields_load_with_defaults() -> None:
    loaded = EventSourceMapping.from_record(
        uuid="u-2",
        function="fn",
        source_arn="arn:aws:sqs:us-east-1:000000000000:q",
        state="Enabled",
        last_modified=1.0,
        config={"batch_size": 10, "batching_window_s": 0},
    )
    assert loaded.settings.queues == () and loaded.settings.source_access == ()
    assert not loaded.settings.default_window
    assert loaded.last_processing_result is None
