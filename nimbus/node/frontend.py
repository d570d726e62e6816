"""Stage 6: the frontend — one object per route table, each given only what it needs, and
the ASGI application over them."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from starlette.types import ASGIApp

from nimbus.auth.authenticator import Authenticator
from nimbus.auth.authorizer import Authorizer
from nimbus.auth.node_key import NodeKey
from nimbus.auth.ports import CredentialSource
from nimbus.auth.principal import root
from nimbus.clock import Clock, SystemClock
from nimbus.config import Settings
from nimbus.frontend.aliases_api import AliasesApi
from nimbus.frontend.app import Apis, build_asgi
from nimbus.frontend.auth_gate import AuthGate, IamArns
from nimbus.frontend.auth_mode import AUTH_MODES
from nimbus.frontend.code_signing_api import CodeSigningApi
from nimbus.frontend.code_urls import DERIVATION as CODE_URL_KEY_PURPOSE
from nimbus.frontend.code_urls import CodeUrls
from nimbus.frontend.concurrency_api import ConcurrencyApi
from nimbus.frontend.eventbridge_api import EventBridgeApi
from nimbus.frontend.events_api import EventsApi
from nimbus.frontend.function_url_server import FunctionUrlServer
from nimbus.frontend.function_urls_api import FunctionUrlsApi
from nimbus.frontend.functions_api import FunctionsApi
from nimbus.frontend.http_api_server import HttpApiServer
from nimbus.frontend.http_apis_api import HttpApisApi
from nimbus.frontend.http_endpoints import EndpointServer, HttpEndpoints
from nimbus.frontend.iam_api import IamApi
from nimbus.frontend.invoke_api import InvokeApi
from nimbus.frontend.layers_api import LayersApi
from nimbus.frontend.logs_api import LogsApi
from nimbus.frontend.mappings_api import MappingsApi
from nimbus.frontend.node_api import NodeApi
from nimbus.frontend.policy_api import PolicyApi
from nimbus.frontend.provisioned_api import ProvisionedApi
from nimbus.frontend.recursion_api import RecursionApi
from nimbus.frontend.root_api import RootApi
from nimbus.frontend.scheduler_api import SchedulerApi
from nimbus.frontend.sts_api import StsApi
from nimbus.frontend.versions_api import VersionsApi
from nimbus.model.arn import Arns
from nimbus.node.control import endpoint_names
from nimbus.web.endpoints import EndpointKind

if TYPE_CHECKING:
    from nimbus.node import Node

# The services whose SigV4 credential scope the gate accepts (IAM and STS signed with the
# global region us-east-1 too: auth.sigv4.GLOBAL_SERVICES).
SIGNED_SERVICES = frozenset(
    {"lambda", "sqs", "sns", "iam", "sts", "logs", "apigateway", "scheduler", "events"}
)


def code_urls(node_key: NodeKey, clock: Clock) -> CodeUrls:
    """Presigned code-download URLs, signed with a key derived from the node key (so every
    node of a cluster accepts every node's URLs)."""
    return CodeUrls(node_key.derive(CODE_URL_KEY_PURPOSE), clock)


def build_gate(
    settings: Settings,
    *,
    credentials: CredentialSource,
    authorizer: Authorizer,
    urls: CodeUrls,
    arns: Arns,
    clock: Clock,
    iam_arns: IamArns | None = None,
) -> Callable[[ASGIApp], ASGIApp]:
    """What wraps the whole application: ``AuthGate`` with these parts (``settings.auth``
    "off" builds one that checks nothing; ``app.serve`` and the CLI have already refused it
    off loopback). Any other ``settings.auth`` is a ValueError, here and now."""
    if settings.auth not in AUTH_MODES:
        raise ValueError(f"NIMBUS_AUTH must be 'on' or 'off', not {settings.auth!r}.")
    authenticator = Authenticator(
        credentials, region=settings.region, services=SIGNED_SERVICES, clock=clock
    )

    def wrap(app: ASGIApp) -> ASGIApp:
        return AuthGate(
            app,
            authenticator=authenticator,
            authorizer=authorizer,
            arns=arns,
            code_urls=urls,
            root=root(settings.account_id),
            auth=settings.auth,
            iam_arns=iam_arns,
        )

    return wrap


def build_frontend(node: Node) -> ASGIApp:
    """The AWS APIs behind the gate, with the HTTP endpoints (function URLs, HTTP APIs) in
    front of it: they authenticate for themselves (``frontend.http_endpoints``)."""
    names = endpoint_names(node.settings)
    clock = SystemClock()
    servers: dict[EndpointKind, EndpointServer] = {
        "url": FunctionUrlServer(
            urls=node.control.function_urls,
            invoker=node.data.invoker,
            # AWS_IAM URLs are signed for service "lambda" (with the URL's host).
            authenticator=Authenticator(
                node.identity.directory,
                region=node.settings.region,
                services=frozenset({"lambda"}),
                clock=clock,
            ),
            authorizer=node.identity.authorizer,
            arns=node.control.arns,
            clock=clock,
        ),
        "api": HttpApiServer(
            apis=node.control.http_apis,
            invoker=node.data.invoker,
            authorizer=node.identity.authorizer,
            arns=node.control.arns,
            clock=clock,
        ),
    }
    return HttpEndpoints(_aws_apis(node), names=names, servers=servers)


def _aws_apis(node: Node) -> ASGIApp:
    control, data, events, identity = node.control, node.data, node.events, node.identity
    arns = control.arns
    clock = SystemClock()
    urls = code_urls(node.store.node_key, clock)
    return build_asgi(
        Apis(
            functions=FunctionsApi(
                functions=control.functions,
                versions=control.versions,
                resolver=control.resolver,
                limits=data.counting,
                blobs=node.store.blobs,
                arns=arns,
                code_urls=urls,
            ),
            versions=VersionsApi(versions=control.versions, arns=arns),
            aliases=AliasesApi(aliases=control.aliases, arns=arns),
            layers=LayersApi(layers=control.layers, arns=arns, code_urls=urls),
            concurrency=ConcurrencyApi(concurrency=data.concurrency, arns=arns),
            provisioned=ProvisionedApi(provisioned=data.provisioned, arns=arns),
            events=EventsApi(event_configs=events.event_configs, events=events.events, arns=arns),
            invoke=InvokeApi(
                invoker=data.invoker, events=events.events, resolver=control.resolver, arns=arns
            ),
            logs=LogsApi(logs=node.store.logs),
            node=NodeApi(environments=data.assignment, metrics=data.metrics),
            root=RootApi(
                queues=events.queues,
                topics=events.topics,
                iam=IamApi(
                    identities=identity.identities,
                    policies=identity.policies,
                    account=node.settings.account_id,
                    access=identity.authorizer,
                ),
                sts=StsApi(sts=identity.sts),
                eventbridge=EventBridgeApi(
                    buses=node.eventbridge.buses,
                    rules=node.eventbridge.rules,
                    events=node.eventbridge.router,
                ),
            ),
            mappings=MappingsApi(mappings=events.mappings, arns=arns),
            policy=PolicyApi(policies=control.policies, arns=arns),
            recursion=RecursionApi(recursion=control.recursion, arns=arns),
            code_signing=CodeSigningApi(code_signing=control.code_signing, arns=arns),
            function_urls=FunctionUrlsApi(urls=control.function_urls, arns=arns),
            http_apis=HttpApisApi(apis=control.http_apis, names=endpoint_names(node.settings)),
            scheduler=SchedulerApi(schedules=events.schedules),
        ),
        gate=build_gate(
            node.settings,
            credentials=identity.directory,
            iam_arns=identity.directory,
            authorizer=identity.authorizer,
            urls=urls,
            arns=arns,
            clock=clock,
        ),
    )
