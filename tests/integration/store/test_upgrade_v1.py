"""A data directory written before Alembic opens in today's server with nothing lost.

The fixture is a real one: tests/fixtures/make_schema_v1.py ran the server at commit a9a6dc1
(``create_all`` and a ``nimbus_meta`` marker) and made every object checked here through
boto3. This test serves a copy with the current code and uses each object again.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator

import pytest

from nimbus.store.migrations.migrator import head_revision
from tests.fixtures import make_schema_v1 as v1
from tests.support import NimbusServer


@pytest.fixture(scope="module")
def upgraded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NimbusServer]:
    data_dir = tmp_path_factory.mktemp("upgrade") / "data"
    shutil.copytree(v1.FIXTURE, data_dir)
    with NimbusServer(data_dir=data_dir) as instance:
        yield instance


def test_the_store_is_now_at_the_head_revision(upgraded: NimbusServer) -> None:
    with sqlite3.connect(upgraded.data_dir / "nimbus.db") as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [
            (head_revision(),)
        ]


def test_the_function_keeps_its_configuration(upgraded: NimbusServer) -> None:
    lam = upgraded.client("lambda")
    config = lam.get_function(FunctionName=v1.FUNCTION)["Configuration"]
    assert config["Environment"]["Variables"] == {"FIXTURE_VAR": "from-v1"}
    assert (config["MemorySize"], config["Timeout"]) == (256, 7)
    assert config["Description"] == "fixture function"
    [layer] = config["Layers"]
    assert layer["Arn"].endswith(f":layer:{v1.LAYER}:1")
    tags = lam.list_tags(Resource=config["FunctionArn"].rsplit(":", 1)[0] + f":{v1.FUNCTION}")
    assert tags["Tags"] == {"team": "fixtures", "schema": "v1"}
    versions = lam.list_versions_by_function(FunctionName=v1.FUNCTION)["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", "1"]
    assert versions[1]["Description"] == "first"
    assert (
        lam.get_function_concurrency(FunctionName=v1.FUNCTION)["ReservedConcurrentExecutions"] == 5
    )


def test_the_alias_still_routes_to_version_1_and_invokes(upgraded: NimbusServer) -> None:
    lam = upgraded.client("lambda")
    alias = lam.get_alias(FunctionName=v1.FUNCTION, Name=v1.ALIAS)
    assert (alias["FunctionVersion"], alias["Description"]) == ("1", "live")
    out = lam.invoke(FunctionName=v1.FUNCTION, Qualifier=v1.ALIAS, Payload=b'{"n": 2}')
    assert "FunctionError" not in out
    # The layer's module, the environment and the version all came out of the old store.
    assert json.loads(out["Payload"].read()) == {
        "greeting": "hello from the layer",
        "env": "from-v1",
        "version": "1",
        "event": {"n": 2},
    }


def test_the_layer_version_is_still_published(upgraded: NimbusServer) -> None:
    lam = upgraded.client("lambda")
    layer = lam.get_layer_version(LayerName=v1.LAYER, VersionNumber=1)
    assert layer["Description"] == "fixture layer"
    assert layer["CompatibleRuntimes"] == ["python3.11"]


def test_the_event_invoke_config_is_kept(upgraded: NimbusServer) -> None:
    lam = upgraded.client("lambda")
    config = lam.get_function_event_invoke_config(FunctionName=v1.FUNCTION)
    assert (config["MaximumRetryAttempts"], config["MaximumEventAgeInSeconds"]) == (1, 300)
    destination = config["DestinationConfig"]["OnFailure"]["Destination"]
    assert destination.endswith(f":{v1.DLQ}")


def test_the_queued_message_is_still_there_and_receivable(upgraded: NimbusServer) -> None:
    sqs = upgraded.client("sqs")
    url = sqs.get_queue_url(QueueName=v1.QUEUE)["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])
    assert attributes["Attributes"]["VisibilityTimeout"] == "45"
    [message] = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"], WaitTimeSeconds=1)[
        "Messages"
    ]
    assert message["Body"] == v1.MESSAGE_BODY
    assert message["MessageAttributes"]["kind"]["StringValue"] == "fixture"
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def test_the_topic_subscription_still_delivers(upgraded: NimbusServer) -> None:
    sns, sqs = upgraded.client("sns"), upgraded.client("sqs")
    topics = [t["TopicArn"] for t in sns.list_topics()["Topics"]]
    [topic] = [arn for arn in topics if arn.endswith(f":{v1.TOPIC}")]
    url = sqs.get_queue_url(QueueName=v1.QUEUE)["QueueUrl"]
    sns.publish(TopicArn=topic, Message="after the upgrade")
    bodies: list[str] = []
    for _ in range(5):
        received = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])
        bodies += [json.loads(m["Body"])["Message"] for m in received if "Type" in m["Body"]]
        if bodies:
            break
    assert "after the upgrade" in bodies


def test_the_old_logs_are_still_readable(upgraded: NimbusServer) -> None:
    with upgraded.http() as http:  # signed: auth is on
        events = http.get(f"/_nimbus/logs/{v1.FUNCTION}").json()["events"]
    # The fixture's one invoke logged START/END/REPORT lines before the upgrade.
    assert any(e["message"].startswith("START") for e in events)


def test_a_second_start_on_the_upgraded_store_is_a_no_op(upgraded: NimbusServer) -> None:
    upgraded.stop()
    upgraded.start()
    lam = upgraded.client("lambda")
    out = lam.invoke(FunctionName=v1.FUNCTION, Qualifier=v1.ALIAS, Payload=b"{}")
    assert json.loads(out["Payload"].read())["env"] == "from-v1"
    assert [
        v["Version"] for v in lam.list_versions_by_function(FunctionName=v1.FUNCTION)["Versions"]
    ] == ["$LATEST", "1"]
