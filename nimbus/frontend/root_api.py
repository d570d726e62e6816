"""Route table: ``POST /``, shared by the built-in queues (SQS's JSON protocol, chosen by
``X-Amz-Target: AmazonSQS.*``), EventBridge (JSON 1.1, ``AWSEvents.*``), topics (SNS's
query protocol), IAM and STS (query protocol too). A query request goes to the service of
the operation the gate authorized (``scope["nimbus.operation"]``), and acts on the very form
the gate authorized (``scope["nimbus.form"]``, parsed once by ``params.query_form``); with no
gate in front, to the service it was signed for, else to the one whose model has its
``Action`` — the IAM, STS, SNS and SQS action sets are disjoint, except SQS's and SNS's
Add/RemovePermission, which go to SNS (SQS speaks JSON here).

Each request is marked with its protocol before anything can fail, so that
``errors.render_error`` answers in the format its SDK parses."""

from __future__ import annotations

import uuid

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from nimbus.auth.principal import Principal, root
from nimbus.errors import (
    EventsValidationError,
    InvalidActionError,
    SerializationError,
    SqsInvalidParameterError,
)
from nimbus.frontend import sns_api, sqs_api, sts_api
from nimbus.frontend.body import read_limited
from nimbus.frontend.errors import mark_protocol
from nimbus.frontend.eventbridge_api import EventBridgeApi
from nimbus.frontend.iam_api import OPERATIONS as IAM_OPERATIONS
from nimbus.frontend.iam_api import IamApi
from nimbus.frontend.operations import Operation
from nimbus.frontend.params import FORM_KEY, OPERATION_KEY, PRINCIPAL_KEY, SERVICE_KEY, query_form
from nimbus.frontend.sts_api import StsApi
from nimbus.queues.service import QueueService
from nimbus.queues.topics import TopicService

MAX_REQUEST = 2 * 1_048_576 + 65_536  # a batch of ten 1 MiB messages... bounded by SQS's 1 MiB


class RootApi:
    def __init__(
        self,
        *,
        queues: QueueService,
        topics: TopicService,
        iam: IamApi | None = None,
        sts: StsApi | None = None,
        eventbridge: EventBridgeApi | None = None,
    ) -> None:
        self._queues = queues
        self._topics = topics
        self._eventbridge = eventbridge
        self._iam = iam
        self._sts = sts

    def _caller(self, request: Request) -> Principal:
        principal = request.scope.get(PRINCIPAL_KEY)
        if isinstance(principal, Principal):
            return principal
        # No gate in front (authentication off): requests act as the account itself.
        return root(self._iam.account if self._iam is not None else "000000000000")

    def routes(self) -> list[BaseRoute]:
        # Reached only for what the fast path does not take (it serves every POST /).
        return [Route("/", self.root, methods=["POST"], name="QueuesAndTopics")]

    async def root(self, request: Request) -> Response:
        request_id = str(uuid.uuid4())
        target = request.headers.get("x-amz-target", "")
        too_large = SqsInvalidParameterError(f"Request must be smaller than {MAX_REQUEST} bytes")
        if target.startswith("AWSEvents.") and self._eventbridge is not None:
            return await self._events(request, target.split(".", 1)[1], request_id)
        if target.startswith("AmazonSQS."):
            mark_protocol(request, "sqs-json", request_id)
            raw = await read_limited(request, MAX_REQUEST, too_large)
            try:
                params = orjson.loads(raw) if raw.strip() else {}
            except orjson.JSONDecodeError as exc:
                raise SqsInvalidParameterError(f"The request body is not JSON: {exc}") from exc
            if not isinstance(params, dict):
                raise SqsInvalidParameterError("The request body must be a JSON object.")
            result = await sqs_api.call(
                self._queues,
                target.split(".", 1)[1],
                params,
                trace_header=request.headers.get("x-amzn-trace-id"),
            )
            return Response(
                orjson.dumps(result),
                headers={"x-amzn-RequestId": request_id},
                media_type="application/x-amz-json-1.0",
            )
        mark_protocol(request, "query", request_id)
        raw = await read_limited(request, MAX_REQUEST, too_large)
        # The form the gate authorized, else (no gate in front) this body's.
        form = request.scope.get(FORM_KEY)
        if form is None:
            form = query_form(raw, request.scope.get("query_string", b""))
        action = form.get("Action", "")
        operation = request.scope.get(OPERATION_KEY)
        if isinstance(operation, Operation):
            service: str | None = operation.service  # what the gate authorized
        else:
            operation = None
            service = request.scope.get(SERVICE_KEY)  # no gate, or auth off
        headers = {"x-amzn-RequestId": request_id}
        if self._iam is not None and (
            service == "iam" or (service is None and action in IAM_OPERATIONS)
        ):
            body = await self._iam.call(action, form, self._caller(request), request_id)
            return Response(body, headers=headers, media_type="text/xml")
        if self._sts is not None and (
            service == "sts" or (service is None and action in sts_api.OPERATIONS)
        ):
            client = request.client.host if request.client else None
            body = await self._sts.call(
                action, form, self._caller(request), request_id, source_ip=client
            )
            return Response(body, headers=headers, media_type="text/xml")
        if action in sns_api.OPERATIONS and (operation is None or service == "sns"):
            body = await sns_api.call(
                self._topics,
                action,
                form,
                request_id,
                trace_header=request.headers.get("x-amzn-trace-id"),
            )
            return Response(body, headers={"x-amzn-RequestId": request_id}, media_type="text/xml")
        if action in sqs_api.OPERATIONS:
            raise InvalidActionError(
                f"SQS's query protocol ({action}) is not implemented: use a botocore/AWS SDK "
                "that speaks SQS's JSON protocol (botocore >= 1.31)."
            )
        raise InvalidActionError(f"The action {action or '(none)'} is not valid for this endpoint.")

    async def _events(self, request: Request, operation: str, request_id: str) -> Response:
        """EventBridge's JSON 1.1 (``eventbridge_api``)."""
        assert self._eventbridge is not None
        mark_protocol(request, "json-1.1", request_id)
        raw = await read_limited(
            request,
            MAX_REQUEST,
            EventsValidationError(f"Request must be smaller than {MAX_REQUEST} bytes"),
        )
        try:
            params = orjson.loads(raw) if raw.strip() else {}
        except orjson.JSONDecodeError as exc:
            raise SerializationError(f"The request body is not JSON: {exc}") from exc
        if not isinstance(params, dict):
            raise SerializationError("The request body must be a JSON object.")
        result = await self._eventbridge.call(operation, params)
        return Response(
            orjson.dumps(result),
            headers={"x-amzn-RequestId": request_id},
            media_type="application/x-amz-json-1.1",
        )
