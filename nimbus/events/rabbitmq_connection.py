"""The AMQP edge of a RabbitMQ mapping's consumer: connecting with aio-pika, finding the
queue, reading a delivery, and turning what the broker or the network refused into the
``Failure`` the mapping reports (``rabbitmq_status``), with a detail that says what to fix and
never a password, a username or the configuration file's path (callers read it in
LastProcessingResult; the secret's name is theirs, its contents the operator's)."""

from __future__ import annotations

import logging

import aio_pika
import aiormq
from aio_pika.abc import AbstractConnection
from aiormq.abc import AbstractChannel, DeliveredMessage

from nimbus.events.rabbitmq_brokers import CONFIG, Endpoint, SourceFailure
from nimbus.events.rabbitmq_records import Delivery
from nimbus.events.rabbitmq_status import Failure, Problem


class _RetriedConnects(logging.Filter):
    """aiormq logs every refused connection as an ERROR; a consumer retrying a broker that is
    down would repeat it forever. The consumer reports the failure itself, once per change."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("error when creating transport")


def quiet_retried_connects() -> None:
    """Install the filter on aiormq's logger (once; the RabbitMQ pollers call it as they
    start a consumer, so merely importing this module changes no logging)."""
    logger = logging.getLogger("aiormq.connection")
    if not any(isinstance(f, _RetriedConnects) for f in logger.filters):
        logger.addFilter(_RetriedConnects())


async def connect(
    endpoint: Endpoint,
    *,
    broker: str,
    secret: str,
    timeout_s: float,
    name: str,
) -> AbstractConnection:
    """A connection to the endpoint; SourceFailure saying why there is none."""
    address, credentials = endpoint.address, endpoint.credentials
    where = f"broker '{broker}' at {address.display()}"
    try:
        return await aio_pika.connect(
            host=address.host,
            port=address.port,
            login=credentials.username,
            password=credentials.password,
            virtualhost=endpoint.vhost,
            ssl=address.tls,
            timeout=timeout_s,
            client_properties={"connection_name": name},
        )
    except aiormq.exceptions.ProbableAuthenticationError:
        detail = (
            f"The {where} refused the credentials of the secret named in BASIC_AUTH "
            f"('{secret}'): the node's operator must correct them in {CONFIG} (the broker's "
            "URL supplies them when the secret is not there)."
        )
        raise SourceFailure(Failure(problem=Problem.AUTHENTICATION, detail=detail)) from None
    except (aiormq.exceptions.InvalidFrameError, aiormq.exceptions.ConnectionNotAllowed):
        # RabbitMQ answers Connection.Open with Connection.Close for a virtual host that does
        # not exist or that the user may not use.
        detail = (
            f"The {where} refused virtual host '{endpoint.vhost}': it does not exist, or "
            f"the user of secret '{secret}' has no permission on it."
        )
        raise SourceFailure(Failure(problem=Problem.CONFIGURATION, detail=detail)) from None
    except (OSError, aiormq.exceptions.AMQPError, TimeoutError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else None
        text = reason or (str(exc.args[-1]) if exc.args else type(exc).__name__)
        detail = endpoint.scrub(f"Nimbus could not connect to {where}: {text}.")
        raise SourceFailure(Failure(problem=Problem.CONNECTION, detail=detail)) from None


async def find_queue(raw: AbstractChannel, queue: str, *, vhost: str, broker: str) -> None:
    """The queue must exist (declared passively: Lambda consumes, it does not declare)."""
    where = f"virtual host '{vhost}' of broker '{broker}'"
    try:
        await raw.queue_declare(queue, passive=True)
    except aiormq.exceptions.ChannelNotFoundEntity:
        detail = f"Queue '{queue}' does not exist in {where}: declare it on the broker."
        raise SourceFailure(Failure(problem=Problem.CONFIGURATION, detail=detail)) from None
    except aiormq.exceptions.ChannelAccessRefused:
        detail = f"The broker refused access to queue '{queue}' in {where}."
        raise SourceFailure(Failure(problem=Problem.AUTHORIZATION, detail=detail)) from None


def delivery_of(message: DeliveredMessage) -> Delivery:
    """The raw AMQP delivery (aiormq's, not aio-pika's IncomingMessage, which fills in
    defaults for absent properties that Lambda reports as null)."""
    props = message.header.properties
    return Delivery(
        delivery_tag=message.delivery_tag or 0,
        body=message.body,
        redelivered=bool(message.redelivered),
        content_type=props.content_type,
        content_encoding=props.content_encoding,
        headers=props.headers,
        delivery_mode=props.delivery_mode,
        priority=props.priority,
        correlation_id=props.correlation_id,
        reply_to=props.reply_to,
        expiration=props.expiration,
        message_id=props.message_id,
        timestamp=props.timestamp,
        type=props.message_type,
        user_id=props.user_id,
        app_id=props.app_id,
        cluster_id=props.cluster_id,
    )
