"""Route table: a function's resource-based policy — AddPermission, RemovePermission,
GetPolicy, and the whole-document PutResourcePolicy, GetResourcePolicy, DeleteResourcePolicy
(botocore's lambda 2015-03-31 model)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from nimbus.control.function_policies import FunctionPolicyService
from nimbus.frontend import params
from nimbus.frontend.wire import json_response
from nimbus.model.arn import Arns, merge_qualifier

POLICY = "/2015-03-31/functions/{name}/policy"
RESOURCE_POLICY = "/2026-07-09/resource-policy/{arn:path}"


class PolicyApi:
    def __init__(self, *, policies: FunctionPolicyService, arns: Arns) -> None:
        self._policies = policies
        self._arns = arns

    def routes(self) -> list[BaseRoute]:
        return [
            Route(POLICY, self.add_permission, methods=["POST"], name="AddPermission"),
            Route(POLICY, self.get_policy, methods=["GET"], name="GetPolicy"),
            Route(
                POLICY + "/{sid}",
                self.remove_permission,
                methods=["DELETE"],
                name="RemovePermission",
            ),
            Route(
                RESOURCE_POLICY,
                self.put_resource_policy,
                methods=["PUT"],
                name="PutResourcePolicy",
            ),
            Route(
                RESOURCE_POLICY,
                self.get_resource_policy,
                methods=["GET"],
                name="GetResourcePolicy",
            ),
            Route(
                RESOURCE_POLICY,
                self.delete_resource_policy,
                methods=["DELETE"],
                name="DeleteResourcePolicy",
            ),
        ]

    def _target(self, request: Request, qualifier: str | None) -> tuple[str, str | None]:
        """The function and qualifier: a qualifier in the name (``f:prod``, a qualified ARN)
        and the Qualifier parameter must agree, as everywhere in the Lambda API."""
        ref = params.function_ref(self._arns, request)
        return ref.name, merge_qualifier(ref, qualifier)

    async def add_permission(self, request: Request) -> Response:
        body = await params.json_body(request)
        # AddPermission carries Qualifier in the query string and RevisionId in the body.
        name, qualifier = self._target(request, request.query_params.get("Qualifier"))
        statement, _ = await self._policies.add_permission(
            name,
            qualifier,
            body,
            revision_id=params.optional_string(body, "RevisionId"),
        )
        # AddPermissionResponse has only Statement; GetPolicy reports the new RevisionId.
        return json_response({"Statement": statement}, 201)

    async def remove_permission(self, request: Request) -> Response:
        name, qualifier = self._target(request, request.query_params.get("Qualifier"))
        await self._policies.remove_permission(
            name,
            qualifier,
            request.path_params["sid"],
            revision_id=request.query_params.get("RevisionId"),
        )
        return Response(status_code=204)

    async def get_policy(self, request: Request) -> Response:
        name, qualifier = self._target(request, request.query_params.get("Qualifier"))
        policy = await self._policies.get_policy(name, qualifier)
        return json_response({"Policy": policy.document, "RevisionId": policy.revision_id})

    async def put_resource_policy(self, request: Request) -> Response:
        body = await params.json_body(request)
        policy = await self._policies.put_resource_policy(
            request.path_params["arn"],
            body.get("Policy"),
            revision_id=params.optional_string(body, "RevisionId"),
        )
        return json_response({"Policy": policy.document, "RevisionId": policy.revision_id})

    async def get_resource_policy(self, request: Request) -> Response:
        policy = await self._policies.get_resource_policy(request.path_params["arn"])
        return json_response({"Policy": policy.document, "RevisionId": policy.revision_id})

    async def delete_resource_policy(self, request: Request) -> Response:
        await self._policies.delete_resource_policy(
            request.path_params["arn"], revision_id=request.query_params.get("RevisionId")
        )
        return Response(status_code=204)
