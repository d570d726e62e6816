"""Where a RabbitMQ mapping's broker is, and with which credentials Nimbus logs in.

On AWS a mapping names an Amazon MQ broker by ARN and its credentials by a Secrets Manager
secret (SourceAccessConfigurations ``BASIC_AUTH``). Nimbus has neither service, so:

- the broker's *name* (``arn:aws:mq:REGION:ACCOUNT:broker:NAME:ID``) is looked up in
  ``mq.json``'s ``"brokers"``, then in ``NIMBUS_MQ_BROKERS`` (``name=amqp://host:5672,...``,
  ``*`` for any other name; the default ``*=amqp://guest:guest@127.0.0.1:5672`` is a local
  RabbitMQ with its stock account, so a mapping works in one step on a development machine);
- the secret's *name* (``arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME``) is looked up in
  ``mq.json``'s ``"secrets"``, each ``{"username": ..., "password": ...}`` as Amazon MQ's
  secrets hold them; a secret not there falls back to the credentials written in the broker's
  URL, if any.

``mq.json`` (``NIMBUS_MQ_CONFIG``, default ``DATA_DIR/mq.json``) is read again whenever it
changes, at each connection attempt, so fixing an address or a password there heals a failing
mapping without a restart. It holds secrets: it must not be readable by other users (mode
0600), as ssh insists for its keys. Passwords never reach a log line, an error message or an
API answer: addresses are shown without their credentials. What a caller sees (an API error,
LastProcessingResult) names neither the file's path on the host nor a username, only the
broker and secret names the caller gave; the node's log names the path for its operator.
"""

from __future__ import annotations

import logging
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson

from nimbus.events.rabbitmq_status import Failure, Problem

log = logging.getLogger(__name__)

ANY = "*"
# How callers' messages name mq.json (never by its path on the host).
CONFIG = "the node's MQ configuration"
CONFIG_TITLE = "The node's MQ configuration"
DEFAULT_BROKERS = "*=amqp://guest:guest@127.0.0.1:5672"
_PORTS = {"amqp": 5672, "amqps": 5671}


class BrokerConfigError(ValueError):
    """A broker setting Nimbus cannot use; the message names it (never its password)."""


@dataclass(frozen=True, kw_only=True)
class Credentials:
    username: str
    password: str = field(repr=False)


@dataclass(frozen=True, kw_only=True)
class Address:
    scheme: str  # amqp | amqps
    host: str
    port: int
    credentials: Credentials | None = None  # written in the URL (amqp://user:pass@host)

    @property
    def tls(self) -> bool:
        return self.scheme == "amqps"

    def display(self) -> str:
        """The address without its credentials, for messages."""
        return f"{self.scheme}://{self.host}:{self.port}"


@dataclass(frozen=True, kw_only=True)
class Endpoint:
    """Everything one connection needs."""

    address: Address
    credentials: Credentials
    vhost: str

    def scrub(self, text: str) -> str:
        """``text`` with the password and the username blanked, should a library have echoed
        them (the username as a whole word only, so that a short one leaves the rest be)."""
        password, username = self.credentials.password, self.credentials.username
        if password:
            text = text.replace(password, "******")
        if username:
            text = re.sub(rf"(?<![\w.-]){re.escape(username)}(?![\w.-])", "******", text)
        return text


def parse_address(text: str) -> Address:
    """``amqp[s]://[user:pass@]host[:port][/]``; the virtual host comes from the mapping."""
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError as exc:
        raise BrokerConfigError(f"not an AMQP URL ({exc})") from None
    if parts.scheme not in _PORTS or not parts.hostname:
        raise BrokerConfigError(
            f"not an AMQP URL: expected amqp://host:port or amqps://host:port, got "
            f"{parts.scheme or 'no'} scheme"
        )
    if parts.path not in ("", "/"):
        raise BrokerConfigError(
            "the URL names a virtual host: the mapping's VIRTUAL_HOST source access "
            "configuration chooses it"
        )
    credentials = None
    if parts.username is not None:
        credentials = Credentials(
            username=unquote(parts.username), password=unquote(parts.password or "")
        )
    return Address(
        scheme=parts.scheme,
        host=parts.hostname,
        port=port or _PORTS[parts.scheme],
        credentials=credentials,
    )


def parse_brokers(text: str) -> dict[str, Address]:
    """``NIMBUS_MQ_BROKERS``: ``name=url`` entries separated by commas."""
    brokers: dict[str, Address] = {}
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        name, sep, url = entry.partition("=")
        if not sep or not name.strip():
            raise BrokerConfigError(
                f"NIMBUS_MQ_BROKERS entry {name.strip()!r} is not name=amqp://host:port"
            )
        try:
            brokers[name.strip()] = parse_address(url)
        except BrokerConfigError as exc:
            raise BrokerConfigError(f"NIMBUS_MQ_BROKERS entry {name.strip()!r}: {exc}") from None
    return brokers


@dataclass(frozen=True, kw_only=True)
class BrokerConfig:
    """``mq.json``: brokers by name, secrets by name."""

    brokers: Mapping[str, Address] = field(default_factory=dict)
    secrets: Mapping[str, Credentials] = field(default_factory=dict, repr=False)


def parse_config(raw: bytes, *, where: str) -> BrokerConfig:
    try:
        document: Any = orjson.loads(raw) if raw.strip() else {}
    except orjson.JSONDecodeError as exc:
        raise BrokerConfigError(f"{where} is not JSON ({exc})") from None
    if not isinstance(document, dict):
        raise BrokerConfigError(f'{where} must be an object: {{"brokers": ..., "secrets": ...}}')
    brokers_doc = document.get("brokers", {})
    secrets_doc = document.get("secrets", {})
    if not isinstance(brokers_doc, dict) or not isinstance(secrets_doc, dict):
        raise BrokerConfigError(f'{where}: "brokers" and "secrets" must be objects')
    brokers: dict[str, Address] = {}
    for name, url in brokers_doc.items():
        if not isinstance(url, str):
            raise BrokerConfigError(f"{where}: broker {name!r} must be an AMQP URL string")
        try:
            brokers[name] = parse_address(url)
        except BrokerConfigError as exc:
            raise BrokerConfigError(f"{where}: broker {name!r}: {exc}") from None
    secrets: dict[str, Credentials] = {}
    for name, secret in secrets_doc.items():
        if (
            not isinstance(secret, dict)
            or not isinstance(secret.get("username"), str)
            or not isinstance(secret.get("password"), str)
        ):
            raise BrokerConfigError(
                f'{where}: secret {name!r} must be {{"username": "...", "password": "..."}}'
            )
        secrets[name] = Credentials(username=secret["username"], password=secret["password"])
    return BrokerConfig(brokers=brokers, secrets=secrets)


def resolve(
    broker: str,
    secret: str,
    vhost: str,
    *,
    config: BrokerConfig,
    brokers: Mapping[str, Address],
) -> Endpoint:
    """The endpoint of a mapping, or ``SourceFailure`` saying what to configure."""
    address = config.brokers.get(broker) or brokers.get(broker) or brokers.get(ANY)
    if address is None:
        raise SourceFailure(Failure(problem=Problem.CONFIGURATION, detail=_unknown_broker(broker)))
    credentials = config.secrets.get(secret) or address.credentials
    if credentials is None:
        raise SourceFailure(
            Failure(
                problem=Problem.CONFIGURATION,
                detail=f"The secret named in BASIC_AUTH ('{secret}') is not in {CONFIG}, and "
                "the broker's URL holds no credentials: the node's operator must add it to "
                'mq.json ("secrets": {"' + secret + '": {"username": "...", "password": '
                '"..."}}).',
            )
        )
    return Endpoint(address=address, credentials=credentials, vhost=vhost)


def _unknown_broker(broker: str) -> str:
    return (
        f"Nimbus knows no broker named '{broker}': the node's operator must add it to {CONFIG} "
        '(mq.json\'s "brokers": {"' + broker + '": "amqp://host:5672"}, or NIMBUS_MQ_BROKERS).'
    )


class SourceFailure(Exception):
    """Raised by the consumer's steps with the failure to report."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.detail)
        self.failure = failure


# --- the shell: the settings and the file --------------------------------------------------


class BrokerDirectory:
    """Resolves mappings' brokers from ``NIMBUS_MQ_BROKERS`` and ``mq.json`` (re-read when
    its size or modification time changes)."""

    def __init__(self, *, brokers: str, config_path: Path) -> None:
        self._setting = brokers
        self._path = config_path
        self._seen: tuple[int, int] | None = None
        self._config = BrokerConfig()
        self._config_error: str | None = None
        self._logged: str | None = None

    def endpoint(self, broker: str, secret: str, vhost: str) -> Endpoint:
        """Raises SourceFailure (CONFIGURATION) when the settings cannot serve the mapping."""
        config = self._current()
        try:
            brokers = parse_brokers(self._setting)
        except BrokerConfigError as exc:
            raise SourceFailure(Failure(problem=Problem.CONFIGURATION, detail=f"{exc}.")) from None
        return resolve(broker, secret, vhost, config=config, brokers=brokers)

    def address(self, broker: str) -> Address:
        """The broker's address; SourceFailure when no setting names it."""
        config = self._current()
        try:
            brokers = parse_brokers(self._setting)
        except BrokerConfigError as exc:
            raise SourceFailure(Failure(problem=Problem.CONFIGURATION, detail=f"{exc}.")) from None
        address = config.brokers.get(broker) or brokers.get(broker) or brokers.get(ANY)
        if address is None:
            raise SourceFailure(
                Failure(problem=Problem.CONFIGURATION, detail=_unknown_broker(broker))
            )
        return address

    def check_setting(self) -> None:
        """Raises BrokerConfigError for a malformed NIMBUS_MQ_BROKERS (checked at start)."""
        parse_brokers(self._setting)

    def _current(self) -> BrokerConfig:
        try:
            info = self._path.stat()
        except FileNotFoundError:
            self._seen, self._config, self._config_error = None, BrokerConfig(), None
            return self._config
        except OSError as exc:
            raise self._broken(
                f"{CONFIG_TITLE} cannot be read ({exc.strerror}): the node's operator must fix it."
            ) from None
        if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise self._broken(
                f"{CONFIG_TITLE} holds secrets but other users may read it: the node's "
                "operator must make it readable by its owner only (chmod 600)."
            )
        seen = (info.st_mtime_ns, info.st_size)
        if seen != self._seen:
            self._seen = seen
            try:
                self._config = parse_config(self._path.read_bytes(), where=CONFIG_TITLE)
                self._config_error = None
            except BrokerConfigError as exc:
                self._config, self._config_error = BrokerConfig(), f"{exc}."
            except OSError as exc:
                self._config = BrokerConfig()
                self._config_error = f"{CONFIG_TITLE} cannot be read ({exc.strerror})."
        if self._config_error is not None:
            raise self._broken(self._config_error)
        self._logged = None
        return self._config

    def _broken(self, detail: str) -> SourceFailure:
        """The failure to report; the log (once per change) says which file, for the
        operator, since the caller's message may not."""
        if detail != self._logged:
            self._logged = detail
            log.warning("%s: %s", self._path, detail)
        return SourceFailure(Failure(problem=Problem.CONFIGURATION, detail=detail))


def default_config_path(data_dir: Path, setting: str) -> Path:
    return Path(setting) if setting else data_dir / "mq.json"
