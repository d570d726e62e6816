"""The Lambda REST API's route table (pure): which IAM action on which resource each
Lambda (and Nimbus) route asks for, for the gate (``auth_gate``, through ``operations``).

Lambda's operations are named by method and path (botocore's lambda model), with the action
and resource type of AWS's "Actions, resources, and condition keys for AWS Lambda"
(https://docs.aws.amazon.com/service-authorization/latest/reference/list_awslambda.html):

- an operation on a function is authorized on the function's ARN, *qualified* when the request
  names a version or alias (in the name or ``Qualifier``): AWS matches ``function:f`` and
  ``function:f:prod`` as different resources, which is why policies grant ``function:f:*``
  beside ``function:f`` ("Fine-tuning the Resources and Conditions sections of policies");
- a function named by a (partial) ARN of another region or account is authorized on that
  region's and account's ARN (the handler then refuses it as AWS does);
- every resource is authorized in its one canonical spelling, whatever spelling the handler
  accepts for it: ``arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]``
  (``$LATEST`` is the function itself, any partition or none is ``aws``), a layer version's
  number in decimal, a code signing config rebuilt in this region and account from its
  ``csc-`` id (``lambda_arn``) — so a Deny on one spelling cannot be passed by another;
- ``HEAD`` is ``GET`` (Starlette serves HEAD on every GET route);
- listings and creations of things whose ARN does not exist yet (``CreateEventSourceMapping``,
  ``CreateCodeSigningConfig``) are on ``*``, with the condition keys AWS documents
  (``lambda:FunctionArn``, ``lambda:CodeSigningConfigArn``, ``lambda:Principal``);
- ``GetLayerVersionByArn`` is ``lambda:GetLayerVersion``, ``InvokeWithResponseStream`` is
  ``lambda:InvokeFunction``.

Nimbus's own routes: ``/_nimbus/logs/{name}`` is ``logs:FilterLogEvents`` on the function's
log group (as CloudWatch Logs names it in its own AccessDenied messages:
``log-group:<name>:log-stream:``, which ``log-group:<name>:*`` matches), the metrics and
environments routes are ``nimbus:GetMetrics`` / ``nimbus:ListEnvironments`` on ``*``, and a
code download (``/_nimbus/code/<sha>.zip``) without its presigned signature is
``lambda:GetFunction`` on ``*``. A route not in the table has no action: the gate answers it
UnknownOperationException itself (the router's answer) rather than let it through.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

from nimbus.control.validation import int64
from nimbus.errors import NimbusError
from nimbus.frontend.implied_access import BODY_OPERATIONS as IMPLIED_BODY_OPERATIONS
from nimbus.frontend.operation import ANY, Operation, OperationRequest
from nimbus.model.arn import LATEST, Arns, parse_function_ref

ResourceKind = Literal[
    "any",  # "*"
    "fn",  # the path's function, qualified by the name or ?Qualifier= (or the path's alias)
    "fn-unq",  # the path's function, never qualified
    "fn-body",  # CreateFunction: the body's FunctionName
    "layer",  # the path's layer (PublishLayerVersion)
    "layer-ver",  # the path's layer version
    "layer-ver-query",  # GetLayerVersionByArn: ?Arn=
    "esm",  # the path's event source mapping (UUID)
    "arn",  # the path's ARN, canonical (code signing configs, tags, resource policies)
    "log-group",  # /_nimbus/logs/{fn}
]


# One line per operation: method, path (botocore's requestUri, its labels as {name}), the
# operation and the kind of its resource (``ResourceKind``); the IAM action is
# lambda:<operation> but for the few in ``_ACTIONS``.
_LAMBDA_TABLE: Final = """
POST   /2015-03-31/functions                             CreateFunction                   fn-body
GET    /2015-03-31/functions                             ListFunctions                    any
GET    /2015-03-31/functions/{fn}                        GetFunction                      fn
DELETE /2015-03-31/functions/{fn}                        DeleteFunction                   fn
GET    /2015-03-31/functions/{fn}/configuration          GetFunctionConfiguration         fn
PUT    /2015-03-31/functions/{fn}/configuration          UpdateFunctionConfiguration      fn-unq
PUT    /2015-03-31/functions/{fn}/code                   UpdateFunctionCode               fn-unq
POST   /2015-03-31/functions/{fn}/invocations            Invoke                           fn
POST   /2015-03-31/functions/{fn}/versions               PublishVersion                   fn-unq
GET    /2015-03-31/functions/{fn}/versions               ListVersionsByFunction           fn-unq
POST   /2015-03-31/functions/{fn}/aliases                CreateAlias                      fn-unq
GET    /2015-03-31/functions/{fn}/aliases                ListAliases                      fn-unq
GET    /2015-03-31/functions/{fn}/aliases/{alias}        GetAlias                         fn
PUT    /2015-03-31/functions/{fn}/aliases/{alias}        UpdateAlias                      fn
DELETE /2015-03-31/functions/{fn}/aliases/{alias}        DeleteAlias                      fn
POST   /2015-03-31/functions/{fn}/policy                 AddPermission                    fn
GET    /2015-03-31/functions/{fn}/policy                 GetPolicy                        fn
DELETE /2015-03-31/functions/{fn}/policy/{sid}           RemovePermission                 fn
POST   /2014-11-13/functions/{fn}/invoke-async           InvokeAsync                      fn-unq
POST   /2021-11-15/functions/{fn}/response-streaming-invocations InvokeWithResponseStream fn
POST   /2015-03-31/event-source-mappings                 CreateEventSourceMapping         any
GET    /2015-03-31/event-source-mappings                 ListEventSourceMappings          any
GET    /2015-03-31/event-source-mappings/{uuid}          GetEventSourceMapping            esm
PUT    /2015-03-31/event-source-mappings/{uuid}          UpdateEventSourceMapping         esm
DELETE /2015-03-31/event-source-mappings/{uuid}          DeleteEventSourceMapping         esm
GET    /2016-08-19/account-settings                      GetAccountSettings               any
GET    /2017-03-31/tags/{arn}                            ListTags                         arn
POST   /2017-03-31/tags/{arn}                            TagResource                      arn
DELETE /2017-03-31/tags/{arn}                            UntagResource                    arn
PUT    /2017-10-31/functions/{fn}/concurrency            PutFunctionConcurrency           fn-unq
DELETE /2017-10-31/functions/{fn}/concurrency            DeleteFunctionConcurrency        fn-unq
GET    /2019-09-30/functions/{fn}/concurrency            GetFunctionConcurrency           fn-unq
PUT    /2019-09-30/functions/{fn}/provisioned-concurrency PutProvisionedConcurrencyConfig fn
DELETE /2019-09-30/functions/{fn}/provisioned-concurrency DeleteProvisionedConcurrencyConfig fn
GET    /2019-09-30/functions/{fn}/provisioned-concurrency GetProvisionedConcurrencyConfig fn
GET    /2018-10-31/layers                                ListLayers                       any
POST   /2018-10-31/layers/{layer}/versions               PublishLayerVersion              layer
GET    /2018-10-31/layers/{layer}/versions               ListLayerVersions                any
GET    /2018-10-31/layers/{layer}/versions/{ver}         GetLayerVersion                  layer-ver
DELETE /2018-10-31/layers/{layer}/versions/{ver}         DeleteLayerVersion               layer-ver
POST   /2018-10-31/layers/{layer}/versions/{ver}/policy  AddLayerVersionPermission        layer-ver
GET    /2018-10-31/layers/{layer}/versions/{ver}/policy  GetLayerVersionPolicy            layer-ver
DELETE /2018-10-31/layers/{layer}/versions/{ver}/policy/{sid} RemoveLayerVersionPermission layer-ver
PUT    /2019-09-25/functions/{fn}/event-invoke-config    PutFunctionEventInvokeConfig     fn
POST   /2019-09-25/functions/{fn}/event-invoke-config    UpdateFunctionEventInvokeConfig  fn
GET    /2019-09-25/functions/{fn}/event-invoke-config    GetFunctionEventInvokeConfig     fn
DELETE /2019-09-25/functions/{fn}/event-invoke-config    DeleteFunctionEventInvokeConfig  fn
GET    /2019-09-25/functions/{fn}/event-invoke-config/list ListFunctionEventInvokeConfigs fn-unq
POST   /2020-04-22/code-signing-configs                  CreateCodeSigningConfig          any
GET    /2020-04-22/code-signing-configs                  ListCodeSigningConfigs           any
GET    /2020-04-22/code-signing-configs/{arn}            GetCodeSigningConfig             arn
PUT    /2020-04-22/code-signing-configs/{arn}            UpdateCodeSigningConfig          arn
DELETE /2020-04-22/code-signing-configs/{arn}            DeleteCodeSigningConfig          arn
GET    /2020-04-22/code-signing-configs/{arn}/functions  ListFunctionsByCodeSigningConfig arn
PUT    /2020-06-30/functions/{fn}/code-signing-config    PutFunctionCodeSigningConfig     fn-unq
GET    /2020-06-30/functions/{fn}/code-signing-config    GetFunctionCodeSigningConfig     fn-unq
DELETE /2020-06-30/functions/{fn}/code-signing-config    DeleteFunctionCodeSigningConfig  fn-unq
GET    /2021-07-20/functions/{fn}/runtime-management-config GetRuntimeManagementConfig fn
PUT    /2021-07-20/functions/{fn}/runtime-management-config PutRuntimeManagementConfig fn
POST   /2021-10-31/functions/{fn}/url                    CreateFunctionUrlConfig          fn
GET    /2021-10-31/functions/{fn}/url                    GetFunctionUrlConfig             fn
PUT    /2021-10-31/functions/{fn}/url                    UpdateFunctionUrlConfig          fn
DELETE /2021-10-31/functions/{fn}/url                    DeleteFunctionUrlConfig          fn
GET    /2021-10-31/functions/{fn}/urls                   ListFunctionUrlConfigs           fn-unq
GET    /2024-08-31/functions/{fn}/recursion-config       GetFunctionRecursionConfig       fn-unq
PUT    /2024-08-31/functions/{fn}/recursion-config       PutFunctionRecursionConfig       fn-unq
GET    /2026-07-09/resource-policy/{arn+}                GetResourcePolicy                arn
PUT    /2026-07-09/resource-policy/{arn+}                PutResourcePolicy                arn
DELETE /2026-07-09/resource-policy/{arn+}                DeleteResourcePolicy             arn
"""

# Nimbus's own routes (documented in the README): logs, metrics, environments, code download.
_NIMBUS_TABLE: Final = """
GET    /_nimbus/logs/{fn}    FilterLogEvents  log-group logs:FilterLogEvents
GET    /_nimbus/metrics      GetMetrics       any nimbus:GetMetrics
GET    /metrics              GetMetrics       any nimbus:GetMetrics
GET    /_nimbus/environments ListEnvironments any nimbus:ListEnvironments
GET    /_nimbus/code/{key}   DownloadCode     any lambda:GetFunction
"""


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    name: str
    kind: ResourceKind
    action: str | None


# Operations authorized by another operation's action (list_awslambda.html).
_ACTIONS: Final = {
    "Invoke": "lambda:InvokeFunction",
    "InvokeWithResponseStream": "lambda:InvokeFunction",
    "GetLayerVersionByArn": "lambda:GetLayerVersion",
}


def _action(name: str, column: list[str]) -> str | None:
    return column[0] if column else _ACTIONS.get(name)


def _routes(table: str) -> tuple[_Route, ...]:
    routes = []
    for line in table.strip().splitlines():
        method, path, name, kind, *action = line.split()
        # botocore's labels: {Name} is one path segment, {Name+} (greedy) the rest of the path
        pattern = re.sub(r"\{(\w+)\+\}", r"(?P<\1>.+)", path)
        pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern)
        routes.append(
            _Route(method, re.compile(f"^{pattern}/?$"), name, kind, _action(name, action))  # type: ignore[arg-type]
        )
    return tuple(routes)


_LAMBDA: Final = _routes(_LAMBDA_TABLE)
_NIMBUS: Final = _routes(_NIMBUS_TABLE)

# Lambda operations whose resource or condition keys come from the JSON body.
_BODY_OPERATIONS: Final = frozenset(
    {
        "CreateFunction",
        "CreateEventSourceMapping",
        "UpdateEventSourceMapping",
        "PutFunctionCodeSigningConfig",
        "AddPermission",
        *IMPLIED_BODY_OPERATIONS,  # what implied_access reads: roles, targets, queues
    }
)


def _match(
    routes: tuple[_Route, ...], method: str, path: str
) -> tuple[_Route, re.Match[str]] | None:
    if method == "HEAD":
        method = "GET"  # Starlette answers HEAD with the GET route's handler
    for route in routes:
        if route.method != method:
            continue
        found = route.pattern.match(path)
        if found is not None:
            return route, found
    return None


# AWS's request bounds: 6 MB for any request (Lambda's quota for invocation payloads and the
# API's requests), but those that upload code, a 50 MB zip base64'd in JSON (the handlers'
# own bounds, ``frontend.params``).
MAX_REQUEST: Final = 6 * 1024 * 1024
MAX_CODE_REQUEST: Final = 69_905_067
_CODE_UPLOADS: Final = frozenset(
    {"CreateFunction", "UpdateFunctionCode", "UpdateFunctionConfiguration", "PublishLayerVersion"}
)


def body_bound(method: str, path: str) -> tuple[int, str]:
    """The most body a request may have (its handler may allow less), and the name of the
    Lambda operation it is ("" for ``POST /`` and routes not in the table)."""
    found = _match(_LAMBDA, method, path) if path != "/" else None
    name = found[0].name if found is not None else ""
    return (MAX_CODE_REQUEST if name in _CODE_UPLOADS else MAX_REQUEST), name


def needs_body(method: str, path: str) -> bool:
    """Whether the operation's resource or condition keys are in its JSON body (so the gate
    parses it before authorizing); ``POST /`` always needs its body."""
    if path == "/":
        return True
    found = _match(_LAMBDA, method, path)
    return found is not None and found[0].name in _BODY_OPERATIONS


def resolve_route(request: OperationRequest, arns: Arns) -> Operation:
    """The Lambda or Nimbus operation a request's method and path name (never raises: what a
    handler will refuse as malformed still gets an ARN to be authorized on); one with no
    action (``service`` and ``name`` "") for a route not in the table."""
    for routes, service in ((_LAMBDA, "lambda"), (_NIMBUS, "")):
        found = _match(routes, request.method, request.path)
        if found is None:
            continue
        route, groups = found
        name = route.name
        if name == "GetProvisionedConcurrencyConfig" and request.query.get("List") == "ALL":
            return _lambda_op("ListProvisionedConcurrencyConfigs", "fn-unq", groups, request, arns)
        if name == "ListLayers" and request.query.get("find") == "LayerVersion":
            return _lambda_op(
                "GetLayerVersionByArn",
                "layer-ver-query",
                groups,
                request,
                arns,
                action="lambda:GetLayerVersion",
            )
        op = _lambda_op(name, route.kind, groups, request, arns, action=route.action)
        if not service:
            return Operation(
                service=(route.action or "").split(":", 1)[0],
                name=op.name,
                action=op.action,
                resource=op.resource,
            )
        return op
    return Operation(service="", name="", action=None)


# --- Lambda --------------------------------------------------------------------------------


def function_arn(text: str, qualifier: str | None, arns: Arns) -> str:
    """The canonical ARN of the function ``text`` names (name, ``name:qualifier``, partial or
    full ARN in any partition), in the region and account it names (this endpoint's when it
    names none), qualified by its own qualifier or else ``qualifier`` — but ``$LATEST``, which
    is the function itself."""
    try:
        ref = parse_function_ref(text)
    except NimbusError:
        return arns.function(text)  # malformed: the handler refuses it after the decision
    region = ref.region or arns.region
    account = ref.account or arns.account
    arn = f"arn:aws:lambda:{region}:{account}:function:{ref.name}"
    chosen = ref.qualifier or qualifier
    return f"{arn}:{chosen}" if chosen and chosen != LATEST else arn


# Any Lambda ARN the handlers might accept, in any partition (or none): its parts rebuilt.
_LAMBDA_ARN_RE: Final = re.compile(
    r"^arn:[^:]*:lambda:(?P<region>[^:]*):(?P<account>[^:]*):(?P<type>[^:]+):(?P<rest>.*)$"
)


def lambda_arn(text: str, arns: Arns) -> str:
    """``text``, a Lambda ARN, in its canonical spelling (see the module's docstring); what is
    no Lambda ARN at all is left as given (every handler refuses it)."""
    found = _LAMBDA_ARN_RE.fullmatch(text)
    if found is None:
        return text
    region = found["region"] or arns.region
    account = found["account"] or arns.account
    kind, rest = found["type"], found["rest"]
    match kind:
        case "function":
            name, _, qualifier = rest.partition(":")
            arn = f"arn:aws:lambda:{region}:{account}:function:{name}"
            return f"{arn}:{qualifier}" if qualifier and qualifier != LATEST else arn
        case "code-signing-config":
            # The handler finds a configuration by its id, in this region and account only.
            return f"arn:aws:lambda:{arns.region}:{arns.account}:code-signing-config:{rest}"
        case "layer":
            name, colon, version = rest.partition(":")
            return f"arn:aws:lambda:{region}:{account}:layer:{name}{colon}{_number(version)}"
    return f"arn:aws:lambda:{region}:{account}:{kind}:{rest}"


def _number(text: str) -> str:
    """A layer version as the handler reads it (``validation.int64``: "007" is 7)."""
    number = int64(text) if text else None
    return text if number is None else str(number)


def _layer_arn(text: str, arns: Arns) -> str:
    # LayerName is a name or a layer ARN (botocore's LayerName pattern).
    return lambda_arn(text, arns) if text.startswith("arn:") else arns.layer(text)


def _lambda_op(
    name: str,
    kind: ResourceKind,
    groups: re.Match[str],
    request: OperationRequest,
    arns: Arns,
    *,
    action: str | None = None,
) -> Operation:
    values = groups.groupdict()
    body = request.params
    context: dict[str, str] = {}
    resource = ANY
    match kind:
        case "fn":
            qualifier = values.get("alias") or request.query.get("Qualifier") or None
            resource = function_arn(values["fn"], qualifier, arns)
        case "fn-unq":
            resource = function_arn(values["fn"], None, arns)
        case "fn-body":
            given = body.get("FunctionName")
            resource = function_arn(given if isinstance(given, str) else "", None, arns)
        case "layer":
            resource = _layer_arn(values["layer"], arns)
        case "layer-ver":
            resource = f"{_layer_arn(values['layer'], arns)}:{_number(values['ver'])}"
        case "layer-ver-query":
            given = request.query.get("Arn", "")
            resource = lambda_arn(given, arns) if given else ANY
        case "arn":
            resource = lambda_arn(values["arn"], arns)
        case "esm":
            resource = (
                f"arn:aws:lambda:{arns.region}:{arns.account}:event-source-mapping:"
                + (values["uuid"])
            )
        case "log-group":
            log_name = _function_name(values["fn"])
            resource = (
                f"arn:aws:logs:{arns.region}:{arns.account}:log-group:/aws/lambda/{log_name}"
                ":log-stream:"
            )
        case "any":
            resource = ANY
    # Condition keys AWS sets for these operations (list_awslambda.html, "Condition keys").
    function_name = body.get("FunctionName")
    if name in ("CreateEventSourceMapping", "UpdateEventSourceMapping") and isinstance(
        function_name, str
    ):
        context["lambda:FunctionArn"] = function_arn(function_name, None, arns)
    if name == "ListEventSourceMappings" and request.query.get("FunctionName"):
        context["lambda:FunctionArn"] = function_arn(request.query["FunctionName"], None, arns)
    csc = body.get("CodeSigningConfigArn")
    if name in ("CreateFunction", "PutFunctionCodeSigningConfig") and isinstance(csc, str):
        context["lambda:CodeSigningConfigArn"] = csc
    principal = body.get("Principal")
    if name == "AddPermission" and isinstance(principal, str):
        context["lambda:Principal"] = principal
        auth_type = body.get("FunctionUrlAuthType")
        if isinstance(auth_type, str):
            context["lambda:FunctionUrlAuthType"] = auth_type
    return Operation(
        service="lambda",
        name=name,
        action=action or f"lambda:{name}",
        resource=resource,
        context=context,
    )


def _function_name(text: str) -> str:
    try:
        return parse_function_ref(text, allow_qualifier=False).name
    except NimbusError:
        return text
