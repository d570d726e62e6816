"""API Gateway's management API route table (pure): which IAM action on which resource each
apigatewayv2 request asks for, for the gate (``auth_gate``, through ``operations``).

API Gateway authorizes its management API by HTTP verb ("Actions, resources, and condition keys
for Amazon API Gateway Management V2"): the action is ``apigateway:<METHOD>`` (``GET``,
``POST``, ``PATCH``, ``PUT``, ``DELETE``) and the resource the path below ``/v2`` in the region,
``arn:aws:apigateway:<region>::/apis``, ``arn:aws:apigateway:<region>::/apis/<id>/routes/<id>``
and so on — no account in the ARN. ``HEAD`` is ``GET``; a path not in the table has no action
(the gate answers it as an unknown operation).
"""

from __future__ import annotations

import re
from typing import Final

from nimbus.frontend.operation import Operation, OperationRequest
from nimbus.model.arn import Arns

PREFIX: Final = "/v2/"
_ID = r"[^/]+"
# method, path below /v2 (each {x} one segment), operation
_TABLE: Final = """
POST   /apis                                  CreateApi
GET    /apis                                  GetApis
GET    /apis/{id}                             GetApi
PATCH  /apis/{id}                             UpdateApi
DELETE /apis/{id}                             DeleteApi
DELETE /apis/{id}/cors                        DeleteCorsConfiguration
POST   /apis/{id}/integrations                CreateIntegration
GET    /apis/{id}/integrations                GetIntegrations
GET    /apis/{id}/integrations/{id}           GetIntegration
PATCH  /apis/{id}/integrations/{id}           UpdateIntegration
DELETE /apis/{id}/integrations/{id}           DeleteIntegration
POST   /apis/{id}/routes                      CreateRoute
GET    /apis/{id}/routes                      GetRoutes
GET    /apis/{id}/routes/{id}                 GetRoute
PATCH  /apis/{id}/routes/{id}                 UpdateRoute
DELETE /apis/{id}/routes/{id}                 DeleteRoute
POST   /apis/{id}/stages                      CreateStage
GET    /apis/{id}/stages                      GetStages
GET    /apis/{id}/stages/{id}                 GetStage
PATCH  /apis/{id}/stages/{id}                 UpdateStage
DELETE /apis/{id}/stages/{id}                 DeleteStage
"""


def _routes() -> tuple[tuple[str, re.Pattern[str], str], ...]:
    routes = []
    for line in _TABLE.strip().splitlines():
        method, path, name = line.split()
        pattern = re.compile("^" + path.replace("{id}", _ID) + "/?$")
        routes.append((method, pattern, name))
    return tuple(routes)


_ROUTES: Final = _routes()


def is_apigateway(path: str) -> bool:
    return path.startswith(PREFIX)


def resolve_apigateway(request: OperationRequest, arns: Arns) -> Operation:
    """The apigatewayv2 operation of a ``/v2/...`` request (never raises)."""
    method = "GET" if request.method == "HEAD" else request.method
    below = request.path.removeprefix("/v2").rstrip("/")
    for verb, pattern, name in _ROUTES:
        if verb == method and pattern.match(below):
            return Operation(
                service="apigateway",
                name=name,
                action=f"apigateway:{method}",
                resource=f"arn:aws:apigateway:{arns.region}::{below}",
            )
    return Operation(service="apigateway", name="", action=None)
