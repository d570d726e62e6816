"""Route table: ``POST /``, shared by the built-in queues (SQS's JSON protocol, chosen by
``X-Amz-Target: AmazonSQS.*``) and topics (SNS's query protocol, chosen by ``Action``).

Each request is marked with its protocol before anything can fail, so that
``errors.render_error`` answers in the format its SDK parses."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from nimbus.errors import InvalidActionError, SqsInvalidParameterError
from nimbus.frontend import sns_api, sqs_api
from nimbus.frontend.body import read_limited
from nimbus.frontend.errors import mark_protocol
from nimbus.queues.service import QueueService
from nimbus.queues.topics import TopicService

MAX_REQUEST = 2 * 1_048_576 + 65_536  # a batch of ten 1 MiB messages... bounded by SQS's 1 MiB


class RootApi:
    def __init__(self, *, queues: QueueService, topics: TopicService) -> None:
        self._queues = queues
        self._topics = topics

    def routes(self) -> list[BaseRoute]:
        # Reached only for what the fast path does not take (it serves every POST /).
        return [Route("/", self.root, methods=["POST"], name="QueuesAndTopics")]

    async def root(self, request: Request) -> Response:
        request_id = str(uuid.uuid4())
        target = request.headers.get("x-amz-target", "")
        too_large = SqsInvalidParameterError(f"Request must be smaller than {MAX_REQUEST} bytes")
        if target.startswith("AmazonSQS."):
            mark_protocol(request, "sqs-json", request_id)
            raw = await read_limited(request, MAX_REQUEST, too_large)
            try:
                params = orjson.loads(raw) if raw.strip() else {}
            except orjson.JSONDecodeError as exc:
                raise SqsInvalidParameterError(f"The request body is not JSON: {exc}") from exc
            if not isinstance(params, dict):
                raise SqsInvalidParameterError("The request body must be a JSON object.")
            result = await sqs_api.call(self._queues, target.split(".", 1)[1], params)
            return Response(
                orjson.dumps(result),
                headers={"x-amzn-RequestId": request_id},
                media_type="application/x-amz-json-1.0",
            )
        mark_protocol(request, "query", request_id)
        raw = await read_limited(request, MAX_REQUEST, too_large)
        form = dict(parse_qsl(raw.decode(errors="replace"), keep_blank_values=True))
        form.update(request.query_params)
        action = form.get("Action", "")
        if action in sns_api.OPERATIONS:
            body = await sns_api.call(self._topics, action, form, request_id)
            return Response(body, headers={"x-amzn-RequestId": request_id}, media_type="text/xml")
        if action in sqs_api.OPERATIONS:
            raise InvalidActionError(
                f"SQS's query protocol ({action}) is not implemented: use a botocore/AWS SDK "
                "that speaks SQS's JSON protocol (botocore >= 1.31)."
            )
        raise InvalidActionError(f"The action {action or '(none)'} is not valid for this endpoint.")
