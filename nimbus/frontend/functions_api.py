"""Route table: the Lambda control-plane API for functions, tags and account settings."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from nimbus.control import validation
from nimbus.errors import (
    InvalidParameterValueError,
    RequestEntityTooLargeError,
    ResourceNotFoundError,
)
from nimbus.frontend import wire
from nimbus.frontend.body import parse_json_object, read_limited
from nimbus.frontend.context import Services
from nimbus.model.arn import LATEST, FunctionRef, merge_qualifier, parse_function_ref
from nimbus.model.function import FunctionConfig

# A 50 MB zip is ~70 MB once base64-encoded in JSON (AWS's own bound: 69,905,067 bytes).
MAX_CODE_REQUEST = 69_905_067


def json_response(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await read_limited(
        request,
        MAX_CODE_REQUEST,
        RequestEntityTooLargeError(
            f"Request must be smaller than {MAX_CODE_REQUEST} bytes for the "
            f"{request.scope.get('route_name', 'this')} operation"
        ),
    )
    return parse_json_object(raw)


def _ref(services: Services, request: Request, *, allow_qualifier: bool = True) -> FunctionRef:
    ref = parse_function_ref(request.path_params["name"], allow_qualifier=allow_qualifier)
    services.functions.arns.check_owner(ref)
    return ref


def _version_of(qualifier: str | None) -> str:
    return LATEST if qualifier is None else qualifier


async def create_function(request: Request) -> Response:
    services = Services.of(request)
    body = await _json_body(request)
    name = validation.function_name(
        parse_function_ref(str(body.get("FunctionName", "")), allow_qualifier=False).name
        if body.get("FunctionName")
        else body.get("FunctionName")
    )
    code = body.get("Code")
    if not isinstance(code, dict) or "ZipFile" not in code:
        if isinstance(code, dict) and ("S3Bucket" in code or "ImageUri" in code):
            raise InvalidParameterValueError(
                "Only Code.ZipFile is supported by Nimbus: S3 and container images are not."
            )
        raise InvalidParameterValueError("Code.ZipFile is required: a base64-encoded zip.")
    if body.get("PackageType", "Zip") != "Zip":
        raise InvalidParameterValueError("PackageType Image is not supported; use Zip.")
    checked = await validation_zip(code["ZipFile"])
    changes = wire.config_changes(body)
    tags = validation.tags(body.get("Tags"))
    config = await services.functions.create(name=name, changes=changes, code=checked, tags=tags)
    if body.get("Publish") is True and services.publish is not None:
        # A published version is a snapshot of $LATEST; the version reported is the new one.
        config = await services.publish(name, None, None, "")
    return json_response(wire.function_configuration(config, services.functions.arns), 201)


async def validation_zip(zip_b64: Any) -> validation.CheckedZip:
    import asyncio

    return await asyncio.to_thread(validation.zip_file, zip_b64)


async def get_function(request: Request) -> Response:
    services = Services.of(request)
    ref = _ref(services, request)
    qualifier = merge_qualifier(ref, request.query_params.get("Qualifier"))
    config = await services.resolve_config(ref.name, qualifier)
    tags = await services.functions.tags(ref.name)
    location = f"{str(request.base_url).rstrip('/')}/_nimbus/code/{config.code_blob}.zip"
    body: dict[str, Any] = {
        "Configuration": _configuration(services, config, qualifier),
        "Code": {"RepositoryType": "S3", "Location": location},
    }
    if tags:
        body["Tags"] = dict(tags)
    concurrency = services.reserved_concurrency(ref.name)
    if concurrency is not None:
        body["Concurrency"] = {"ReservedConcurrentExecutions": concurrency}
    return json_response(body)


async def get_function_configuration(request: Request) -> Response:
    services = Services.of(request)
    ref = _ref(services, request)
    qualifier = merge_qualifier(ref, request.query_params.get("Qualifier"))
    config = await services.resolve_config(ref.name, qualifier)
    return json_response(_configuration(services, config, qualifier))


def _configuration(
    services: Services, config: FunctionConfig, qualifier: str | None
) -> dict[str, Any]:
    body = wire.function_configuration(config, services.functions.arns)
    if qualifier is not None and qualifier != LATEST and not qualifier.isdigit():
        # Read through an alias, AWS reports the alias ARN with the version it points to.
        body["FunctionArn"] = services.functions.arns.function(config.name, qualifier)
    return body


async def list_functions(request: Request) -> Response:
    services = Services.of(request)
    max_items = _max_items(request.query_params.get("MaxItems"), default=50)
    marker = request.query_params.get("Marker") or None
    page, next_marker = await services.functions.list(marker=marker, max_items=max_items)
    body: dict[str, Any] = {
        "Functions": [wire.function_configuration(c, services.functions.arns) for c in page]
    }
    if next_marker is not None:
        body["NextMarker"] = next_marker
    return json_response(body)


def _max_items(raw: str | None, *, default: int, high: int = 10_000) -> int:
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= high:
        raise InvalidParameterValueError(f"MaxItems must be an integer between 1 and {high}.")
    return int(raw)


async def update_function_code(request: Request) -> Response:
    services = Services.of(request)
    ref = _ref(services, request, allow_qualifier=False)
    body = await _json_body(request)
    if "ZipFile" not in body:
        raise InvalidParameterValueError(
            "ZipFile is required: Nimbus takes code as a base64-encoded zip (no S3, no images)."
        )
    checked = await validation_zip(body["ZipFile"])
    if body.get("DryRun") is True:
        current = await services.functions.get_version(ref.name)
        return json_response(wire.function_configuration(current, services.functions.arns))
    config = await services.functions.update_code(
        ref.name,
        code=checked,
        revision_id=_revision(body),
        architectures=(
            validation.architectures(body["Architectures"]) if "Architectures" in body else None
        ),
    )
    if body.get("Publish") is True and services.publish is not None:
        config = await services.publish(ref.name, None, None, "")
    return json_response(wire.function_configuration(config, services.functions.arns))


def _revision(body: dict[str, Any]) -> str | None:
    revision = body.get("RevisionId")
    if revision is not None and not isinstance(revision, str):
        raise InvalidParameterValueError("RevisionId must be a string.")
    return revision


async def update_function_configuration(request: Request) -> Response:
    services = Services.of(request)
    ref = _ref(services, request, allow_qualifier=False)
    body = await _json_body(request)
    config = await services.functions.update_configuration(
        ref.name, changes=wire.config_changes(body), revision_id=_revision(body)
    )
    return json_response(wire.function_configuration(config, services.functions.arns))


async def delete_function(request: Request) -> Response:
    services = Services.of(request)
    ref = _ref(services, request)
    qualifier = merge_qualifier(ref, request.query_params.get("Qualifier"))
    if qualifier is not None and qualifier != LATEST:
        if services.delete_version is None:
            raise InvalidParameterValueError("Deleting a version is not supported.")
        await services.delete_version(ref.name, qualifier)
    elif qualifier == LATEST:
        raise InvalidParameterValueError(
            "$LATEST version cannot be deleted without deleting the function."
        )
    else:
        await services.functions.delete(ref.name)
    return Response(status_code=204)


def _resource_name(services: Services, request: Request) -> str:
    arn = request.path_params["arn"]
    if not arn.startswith("arn:"):
        raise InvalidParameterValueError(f"Resource '{arn}' is not an ARN.")
    ref = parse_function_ref(arn, allow_qualifier=False)
    services.functions.arns.check_owner(ref)
    return ref.name


async def tag_resource(request: Request) -> Response:
    services = Services.of(request)
    name = _resource_name(services, request)
    body = parse_json_object(await request.body())
    await services.functions.tag(name, validation.tags(body.get("Tags")))
    return Response(status_code=204)


async def untag_resource(request: Request) -> Response:
    services = Services.of(request)
    name = _resource_name(services, request)
    keys = request.query_params.getlist("tagKeys")
    await services.functions.untag(name, keys)
    return Response(status_code=204)


async def list_tags(request: Request) -> Response:
    services = Services.of(request)
    name = _resource_name(services, request)
    return json_response({"Tags": dict(await services.functions.tags(name))})


async def get_account_settings(request: Request) -> Response:
    services = Services.of(request)
    count, total = await services.functions.totals()
    limit = services.account_limit()
    return json_response(
        {
            "AccountLimit": {
                "TotalCodeSize": 80_530_636_800,
                "CodeSizeUnzipped": validation.MAX_UNZIPPED_BYTES,
                "CodeSizeZipped": validation.MAX_ZIP_BYTES,
                "ConcurrentExecutions": limit.concurrent_executions,
                "UnreservedConcurrentExecutions": limit.unreserved,
            },
            "AccountUsage": {"TotalCodeSize": total, "FunctionCount": count},
        }
    )


async def download_code(request: Request) -> Response:
    services = Services.of(request)
    key = request.path_params["key"]
    if not key.isalnum() or not services.blobs.exists(key):
        raise ResourceNotFoundError(f"No code blob {key}.")
    return Response(
        services.blobs.read(key),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{key}.zip"'},
    )


PREFIX = "/2015-03-31/functions"

routes = [
    Route(PREFIX, create_function, methods=["POST"], name="CreateFunction"),
    Route(PREFIX, list_functions, methods=["GET"], name="ListFunctions"),
    Route(PREFIX + "/", list_functions, methods=["GET"], name="ListFunctions"),
    Route(PREFIX + "/{name}", get_function, methods=["GET"], name="GetFunction"),
    Route(PREFIX + "/{name}", delete_function, methods=["DELETE"], name="DeleteFunction"),
    Route(
        PREFIX + "/{name}/configuration",
        get_function_configuration,
        methods=["GET"],
        name="GetFunctionConfiguration",
    ),
    Route(
        PREFIX + "/{name}/configuration",
        update_function_configuration,
        methods=["PUT"],
        name="UpdateFunctionConfiguration",
    ),
    Route(
        PREFIX + "/{name}/code", update_function_code, methods=["PUT"], name="UpdateFunctionCode"
    ),
    Route("/2017-03-31/tags/{arn}", tag_resource, methods=["POST"], name="TagResource"),
    Route("/2017-03-31/tags/{arn}", untag_resource, methods=["DELETE"], name="UntagResource"),
    Route("/2017-03-31/tags/{arn}", list_tags, methods=["GET"], name="ListTags"),
    Route(
        "/2016-08-19/account-settings",
        get_account_settings,
        methods=["GET"],
        name="GetAccountSettings",
    ),
    Route(
        "/2016-08-19/account-settings/",
        get_account_settings,
        methods=["GET"],
        name="GetAccountSettings",
    ),
    Route("/_nimbus/code/{key}.zip", download_code, methods=["GET"], name="DownloadCode"),
]
