"""Route table: ``POST /``, shared by the built-in queues (SQS's JSON protocol, chosen by
``X-Amz-Target: AmazonSQS.*``) and topics (SNS's query protocol, chosen by ``Action``)."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qsl

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from nimbus.errors import InvalidActionError, NimbusError, SqsInvalidParameterError
from nimbus.frontend import sns_api, sqs_api
from nimbus.frontend.body import read_limited
from nimbus.frontend.context import Services
from nimbus.frontend.errors import query_xml_error, sqs_json_error

MAX_REQUEST = 2 * 1_048_576 + 65_536  # a batch of ten 1 MiB messages... bounded by SQS's 1 MiB


async def root(request: Request) -> Response:
    try:
        return await _root(request)
    except ClientDisconnect:
        return Response(status_code=400)  # nobody is left to answer


async def _root(request: Request) -> Response:
    services = Services.of(request)
    request_id = str(uuid.uuid4())
    target = request.headers.get("x-amz-target", "")
    too_large = SqsInvalidParameterError(f"Request must be smaller than {MAX_REQUEST} bytes")
    if target.startswith("AmazonSQS."):
        try:
            raw = await read_limited(request, MAX_REQUEST, too_large)
            try:
                params = orjson.loads(raw) if raw.strip() else {}
            except orjson.JSONDecodeError as exc:
                raise SqsInvalidParameterError(f"The request body is not JSON: {exc}") from exc
            if not isinstance(params, dict):
                raise SqsInvalidParameterError("The request body must be a JSON object.")
            result = await sqs_api.call(services, target.split(".", 1)[1], params)
        except NimbusError as exc:
            return sqs_json_error(exc)
        return Response(
            orjson.dumps(result),
            headers={"x-amzn-RequestId": request_id},
            media_type="application/x-amz-json-1.0",
        )
    try:
        raw = await read_limited(request, MAX_REQUEST, too_large)
        form = dict(parse_qsl(raw.decode(errors="replace"), keep_blank_values=True))
        form.update(request.query_params)
        action = form.get("Action", "")
        if action in sns_api.OPERATIONS:
            body = await sns_api.call(services, action, form, request_id)
            return Response(body, media_type="text/xml")
        if action in sqs_api.OPERATIONS:
            raise InvalidActionError(
                f"SQS's query protocol ({action}) is not implemented: use a botocore/AWS SDK "
                "that speaks SQS's JSON protocol (botocore >= 1.31)."
            )
        raise InvalidActionError(f"The action {action or '(none)'} is not valid for this endpoint.")
    except NimbusError as exc:
        return query_xml_error(exc, request_id)


routes = [Route("/", root, methods=["POST"], name="QueuesAndTopics")]
