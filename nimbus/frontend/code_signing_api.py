"""Route table: code signing configurations (botocore lambda 2015-03-31:
Create/Get/Update/Delete/ListCodeSigningConfigs, ListFunctionsByCodeSigningConfig,
Put/Get/DeleteFunctionCodeSigningConfig)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from nimbus.control import signature_rules, validation
from nimbus.control.code_signing import CodeSigningService
from nimbus.frontend import params
from nimbus.frontend.wire import json_response
from nimbus.model.arn import Arns
from nimbus.model.code_signing import CodeSigningConfig

CONFIGS = "/2020-04-22/code-signing-configs"
FUNCTION = "/2020-06-30/functions/{name}/code-signing-config"


def code_signing_config(config: CodeSigningConfig) -> dict[str, Any]:
    """The CodeSigningConfig shape."""
    return {
        "CodeSigningConfigId": config.config_id,
        "CodeSigningConfigArn": config.arn,
        "Description": config.description,
        "AllowedPublishers": {"SigningProfileVersionArns": list(config.allowed_profiles)},
        "CodeSigningPolicies": {"UntrustedArtifactOnDeployment": config.policy},
        "LastModified": config.last_modified,
    }


class CodeSigningApi:
    def __init__(self, *, code_signing: CodeSigningService, arns: Arns) -> None:
        self._signing = code_signing
        self._arns = arns

    def routes(self) -> list[BaseRoute]:
        one = CONFIGS + "/{arn}"
        return [
            Route(CONFIGS, self.create, methods=["POST"], name="CreateCodeSigningConfig"),
            Route(CONFIGS + "/", self.create, methods=["POST"], name="CreateCodeSigningConfig"),
            Route(CONFIGS, self.list_configs, methods=["GET"], name="ListCodeSigningConfigs"),
            Route(CONFIGS + "/", self.list_configs, methods=["GET"], name="ListCodeSigningConfigs"),
            Route(one, self.get, methods=["GET"], name="GetCodeSigningConfig"),
            Route(one, self.update, methods=["PUT"], name="UpdateCodeSigningConfig"),
            Route(one, self.delete, methods=["DELETE"], name="DeleteCodeSigningConfig"),
            Route(
                one + "/functions",
                self.list_functions,
                methods=["GET"],
                name="ListFunctionsByCodeSigningConfig",
            ),
            Route(
                FUNCTION, self.put_function, methods=["PUT"], name="PutFunctionCodeSigningConfig"
            ),
            Route(
                FUNCTION, self.get_function, methods=["GET"], name="GetFunctionCodeSigningConfig"
            ),
            Route(
                FUNCTION,
                self.delete_function,
                methods=["DELETE"],
                name="DeleteFunctionCodeSigningConfig",
            ),
        ]

    # --- configurations --------------------------------------------------------------------

    async def create(self, request: Request) -> Response:
        body = await params.json_body(request)
        changes = signature_rules.config_changes(body, creating=True)
        tags = validation.tags(body.get("Tags"))
        config = await self._signing.create(changes, tags=tags)
        return json_response({"CodeSigningConfig": code_signing_config(config)}, 201)

    async def get(self, request: Request) -> Response:
        config = await self._signing.get(request.path_params["arn"])
        return json_response({"CodeSigningConfig": code_signing_config(config)})

    async def update(self, request: Request) -> Response:
        arn = request.path_params["arn"]
        body = await params.json_body(request)
        changes = signature_rules.config_changes(body, creating=False)
        config = await self._signing.update(arn, changes)
        return json_response({"CodeSigningConfig": code_signing_config(config)})

    async def delete(self, request: Request) -> Response:
        await self._signing.delete(request.path_params["arn"])
        return Response(status_code=204)

    async def list_configs(self, request: Request) -> Response:
        page, next_marker = await self._signing.list_configs(
            marker=params.marker(request),
            max_items=params.max_items(request, default=50, high=10_000, page=50),
        )
        body: dict[str, Any] = {"CodeSigningConfigs": [code_signing_config(c) for c in page]}
        if next_marker is not None:
            body["NextMarker"] = next_marker
        return json_response(body)

    async def list_functions(self, request: Request) -> Response:
        arns, next_marker = await self._signing.functions_using(
            request.path_params["arn"],
            marker=params.marker(request),
            max_items=params.max_items(request, default=50, high=10_000, page=50),
        )
        body: dict[str, Any] = {"FunctionArns": arns}
        if next_marker is not None:
            body["NextMarker"] = next_marker
        return json_response(body)

    # --- a function's configuration --------------------------------------------------------

    async def put_function(self, request: Request) -> Response:
        name = params.function_name(self._arns, request)
        body = await params.json_body(request)
        arn = body.get("CodeSigningConfigArn")
        signature_rules.config_id_of(arn)  # botocore's pattern, before anything is looked up
        assert isinstance(arn, str)
        await self._signing.put_function_config(name, arn)
        return json_response({"CodeSigningConfigArn": arn, "FunctionName": name})

    async def get_function(self, request: Request) -> Response:
        name = params.function_name(self._arns, request)
        arn = await self._signing.function_config(name)
        # Both members are required by the model: a function without one reports "".
        return json_response({"CodeSigningConfigArn": arn or "", "FunctionName": name})

    async def delete_function(self, request: Request) -> Response:
        await self._signing.delete_function_config(params.function_name(self._arns, request))
        return Response(status_code=204)
