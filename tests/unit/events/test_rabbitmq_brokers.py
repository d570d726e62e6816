"""How a mapping's broker name and BASIC_AUTH secret become an AMQP endpoint: the
NIMBUS_MQ_BROKERS setting, mq.json (re-read when it changes, refused when others may read
it), and passwords kept out of every message."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from nimbus.events import rabbitmq_brokers as brokers
from nimbus.events.rabbitmq_brokers import BrokerConfigError, BrokerDirectory, SourceFailure
from nimbus.events.rabbitmq_status import Problem


def test_addresses_take_amqps_defaults_and_credentials() -> None:
    plain = brokers.parse_address("amqp://rabbit.internal")
    assert (plain.host, plain.port, plain.tls, plain.credentials) == (
        "rabbit.internal",
        5672,
        False,
        None,
    )
    secure = brokers.parse_address("amqps://app:s%40cret@mq.example.com:5999/")
    assert (secure.port, secure.tls) == (5999, True)
    assert secure.credentials is not None
    assert (secure.credentials.username, secure.credentials.password) == ("app", "s@cret")
    assert secure.display() == "amqps://mq.example.com:5999"
    assert "s@cret" not in repr(secure)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://host:5672", "not an AMQP URL"),
        ("amqp://", "not an AMQP URL"),
        ("amqp://host:notaport", "not an AMQP URL"),
        ("amqp://host:5672/shop", "virtual host"),
    ],
)
def test_bad_addresses_say_what_is_wrong(url: str, says: str) -> None:
    with pytest.raises(BrokerConfigError, match=says):
        brokers.parse_address(url)


def test_the_setting_lists_brokers_by_name() -> None:
    parsed = brokers.parse_brokers(" a=amqp://one:5672 , *=amqp://guest:guest@127.0.0.1,")
    assert sorted(parsed) == ["*", "a"]
    assert parsed["a"].host == "one"
    with pytest.raises(BrokerConfigError, match="'oops'"):
        brokers.parse_brokers("oops")
    with pytest.raises(BrokerConfigError, match="'b'"):
        brokers.parse_brokers("b=ftp://x")
    assert brokers.parse_brokers(brokers.DEFAULT_BROKERS)["*"].port == 5672


def test_config_files_are_checked() -> None:
    config = brokers.parse_config(
        b'{"brokers": {"b": "amqp://h"}, "secrets": {"s": {"username": "u", "password": "p"}}}',
        where="mq.json",
    )
    assert config.brokers["b"].host == "h"
    assert config.secrets["s"].username == "u"
    assert "'p'" not in repr(config)
    assert brokers.parse_config(b"", where="mq.json").brokers == {}
    for raw, says in [
        (b"{", "not JSON"),
        (b"[]", "must be an object"),
        (b'{"brokers": []}', "must be objects"),
        (b'{"brokers": {"b": 1}}', "AMQP URL string"),
        (b'{"secrets": {"s": {"username": "u"}}}', "secret 's'"),
    ]:
        with pytest.raises(BrokerConfigError, match=says):
            brokers.parse_config(raw, where="mq.json")


def test_resolution_prefers_the_file_then_the_name_then_any() -> None:
    config = brokers.parse_config(
        b'{"brokers": {"b": "amqp://from-file"},'
        b' "secrets": {"s": {"username": "u", "password": "p"}}}',
        where="mq.json",
    )
    setting = brokers.parse_brokers("b=amqp://from-setting,c=amqp://c,*=amqp://x:y@any")

    def resolve(broker: str, secret: str) -> brokers.Endpoint:
        return brokers.resolve(broker, secret, "/", config=config, brokers=setting)

    assert resolve("b", "s").address.host == "from-file"
    assert resolve("c", "s").address.host == "c"
    assert resolve("z", "s").address.host == "any"
    assert resolve("b", "s").credentials.username == "u"
    # A secret not in the file: the credentials written in the broker's URL.
    assert resolve("z", "unknown").credentials.username == "x"
    with pytest.raises(SourceFailure) as caught:
        resolve("c", "unknown")
    assert caught.value.failure.problem is Problem.CONFIGURATION
    assert "The secret named in BASIC_AUTH ('unknown') is not in" in caught.value.failure.detail
    with pytest.raises(SourceFailure, match="no broker named 'z'"):
        brokers.resolve("z", "s", "/", config=config, brokers={})


def test_an_endpoint_scrubs_its_password_from_text() -> None:
    endpoint = brokers.Endpoint(
        address=brokers.parse_address("amqp://h"),
        credentials=brokers.Credentials(username="u", password="hunter2"),
        vhost="/",
    )
    assert endpoint.scrub("failed for hunter2@h") == "failed for ******@h"
    assert "hunter2" not in repr(endpoint)


def write(path: Path, document: object, mode: int = 0o600) -> None:
    path.write_text(json.dumps(document))
    os.chmod(path, mode)


def test_the_directory_rereads_the_file_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "mq.json"
    directory = BrokerDirectory(brokers="*=amqp://guest:guest@127.0.0.1", config_path=path)
    assert directory.endpoint("b", "s", "/").credentials.username == "guest"  # no file yet
    write(path, {"secrets": {"s": {"username": "app", "password": "one"}}})
    assert directory.endpoint("b", "s", "/").credentials.password == "one"
    write(path, {"secrets": {"s": {"username": "app", "password": "two!"}}})
    assert directory.endpoint("b", "s", "/").credentials.password == "two!"
    write(path, {"brokers": {"b": "amqp://elsewhere:1"}})
    assert directory.address("b").display() == "amqp://elsewhere:1"


def test_the_directory_refuses_a_file_others_may_read(tmp_path: Path) -> None:
    path = tmp_path / "mq.json"
    write(path, {"secrets": {"s": {"username": "app", "password": "p"}}}, mode=0o644)
    directory = BrokerDirectory(brokers="", config_path=path)
    with pytest.raises(SourceFailure, match="chmod 600") as caught:
        directory.endpoint("b", "s", "/")
    assert caught.value.failure.problem is Problem.CONFIGURATION


def test_a_broken_file_is_reported_until_it_is_fixed(tmp_path: Path) -> None:
    path = tmp_path / "mq.json"
    path.write_text("{not json")
    os.chmod(path, 0o600)
    directory = BrokerDirectory(brokers="*=amqp://guest:guest@h", config_path=path)
    with pytest.raises(SourceFailure, match="not JSON"):
        directory.endpoint("b", "s", "/")
    write(path, {})
    assert directory.endpoint("b", "s", "/").address.host == "h"
    assert brokers.default_config_path(tmp_path, "") == tmp_path / "mq.json"
    assert brokers.default_config_path(tmp_path, "/etc/nimbus/mq.json") == Path(
        "/etc/nimbus/mq.json"
    )


def test_what_callers_see_names_no_host_path_and_no_username(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # LastProcessingResult and CreateEventSourceMapping's errors reach any caller allowed to
    # read mappings: they say what to fix without the server's paths or the file's users.
    path = tmp_path / "private" / "mq.json"
    path.parent.mkdir()
    directory = BrokerDirectory(brokers="", config_path=path)
    details = []
    write(
        path,
        {"brokers": {"b": "amqp://h"}, "secrets": {"t": {"username": "operator", "password": "p"}}},
    )
    for broker, secret in (("other", "s"), ("b", "s")):
        with pytest.raises(SourceFailure) as caught:
            directory.endpoint(broker, secret, "/")
        details.append(caught.value.failure.detail)
    with pytest.raises(SourceFailure) as caught:
        directory.address("other")
    details.append(caught.value.failure.detail)
    write(path, {"secrets": {"s": {"username": "operator", "password": "p"}}}, mode=0o644)
    with pytest.raises(SourceFailure) as caught:
        directory.endpoint("b", "s", "/")
    details.append(caught.value.failure.detail)
    write(path, "not an object")
    with pytest.raises(SourceFailure) as caught:
        directory.endpoint("b", "s", "/")
    details.append(caught.value.failure.detail)

    for detail in details:
        assert str(tmp_path) not in detail and "operator" not in detail.replace(
            "node's operator", ""
        ), detail
        assert "MQ configuration" in detail, detail
    assert "no broker named 'other'" in details[0]
    assert "secret named in BASIC_AUTH ('s')" in details[1]
    assert "chmod 600" in details[3]
    # The node's log tells its operator which file.
    assert str(path) in caplog.text


def test_an_endpoint_scrubs_its_username_as_a_word() -> None:
    endpoint = brokers.Endpoint(
        address=brokers.parse_address("amqp://h"),
        credentials=brokers.Credentials(username="app", password="pw"),
        vhost="/",
    )
    assert endpoint.scrub("login app refused for amqp://app:pw@h (apps)") == (
        "login ****** refused for amqp://******:******@h (apps)"
    )
