"""End to end: numbers a client can put in a path, a query string or a body — beyond 64 bits,
negative, in other digits, not numbers at all — are answered 4xx as AWS answers them, never
with a 5xx (an OverflowError from the store, a ValueError from ``int("²")``).

The requests are signed (as the administrator): each must reach the route it names, never
stop at the gate's 403."""

from __future__ import annotations

import json
from typing import Any

import pytest

from nimbus.testing.server import ADMIN_ACCESS_KEY_ID, ADMIN_SECRET_ACCESS_KEY, REGION
from nimbus.testing.signing import SigV4Auth
from tests.support import NimbusServer, create_function, make_zip

CODE = make_zip({"app.py": "def handler(event, context):\n    return event\n"})
LAYER = make_zip({"python/lib.py": "X = 1\n"})
FUNCTION = "numbers-fuzz"
LAYER_NAME = "numbers-fuzz-layer"
ARN = "arn:aws:lambda:us-east-1:000000000000"

VALUES = [
    "99999999999999999999999",
    "9223372036854775807",  # the largest signed 64-bit number
    "9223372036854775808",  # one more
    "-1",
    "-99999999999999999999999",
    "0",
    "1e30",
    "1.5",
    "abc",
    "²",  # str.isdigit() says yes, int() says no
    "١٢",  # Arabic-Indic digits: int() accepts them
    "",
]

# (method, path, query) with "{v}" where the value goes; name/layer/alias exist, so lookups
# reach the store.
F = f"/2015-03-31/functions/{FUNCTION}"
L = f"/2018-10-31/layers/{LAYER_NAME}"
ROUTES: list[tuple[str, str, dict[str, str]]] = [
    ("GET", "/2015-03-31/functions", {"MaxItems": "{v}"}),
    ("GET", "/2015-03-31/functions", {"Marker": "{v}"}),
    ("GET", "/2015-03-31/functions", {"FunctionVersion": "{v}"}),
    ("GET", F, {"Qualifier": "{v}"}),
    ("GET", f"{F}:{{v}}", {}),
    ("GET", f"{F}/configuration", {"Qualifier": "{v}"}),
    ("DELETE", F, {"Qualifier": "{v}"}),
    ("GET", f"{F}/versions", {"MaxItems": "{v}"}),
    ("GET", f"{F}/versions", {"Marker": "{v}"}),
    ("GET", f"{F}/versions/{{v}}", {}),
    ("GET", f"{F}/aliases", {"MaxItems": "{v}"}),
    ("GET", f"{F}/aliases", {"Marker": "{v}"}),
    ("GET", f"{F}/aliases", {"FunctionVersion": "{v}"}),
    ("GET", f"{F}/aliases/{{v}}", {}),
    ("DELETE", f"{F}/aliases/{{v}}", {}),
    ("POST", f"{F}/invocations", {"Qualifier": "{v}"}),
    ("POST", f"/2014-11-13/functions/{FUNCTION}/invoke-async", {"Qualifier": "{v}"}),
    ("GET", f"/2019-09-30/functions/{FUNCTION}/provisioned-concurrency", {"Qualifier": "{v}"}),
    (
        "GET",
        f"/2019-09-30/functions/{FUNCTION}/provisioned-concurrency",
        {"List": "ALL", "MaxItems": "{v}"},
    ),
    (
        "GET",
        f"/2019-09-30/functions/{FUNCTION}/provisioned-concurrency",
        {"List": "ALL", "Marker": "{v}"},
    ),
    (
        "DELETE",
        f"/2019-09-30/functions/{FUNCTION}/provisioned-concurrency",
        {"Qualifier": "{v}"},
    ),
    ("GET", f"/2019-09-25/functions/{FUNCTION}/event-invoke-config", {"Qualifier": "{v}"}),
    ("GET", f"/2019-09-25/functions/{FUNCTION}/event-invoke-config/list", {"MaxItems": "{v}"}),
    ("GET", f"/2019-09-25/functions/{FUNCTION}/event-invoke-config/list", {"Marker": "{v}"}),
    ("GET", "/2018-10-31/layers", {"MaxItems": "{v}"}),
    ("GET", "/2018-10-31/layers", {"Marker": "{v}"}),
    ("GET", "/2018-10-31/layers", {"find": "LayerVersion", "Arn": f"{ARN}:layer:x:{{v}}"}),
    (
        "GET",
        "/2018-10-31/layers",
        {"find": "LayerVersion", "Arn": f"{ARN}:layer:{LAYER_NAME}:{{v}}"},
    ),
    ("GET", f"{L}/versions", {"MaxItems": "{v}"}),
    ("GET", f"{L}/versions", {"Marker": "{v}"}),
    ("GET", f"{L}/versions/{{v}}", {}),
    ("DELETE", f"{L}/versions/{{v}}", {}),
    ("GET", f"{L}/versions/{{v}}/policy", {}),
    ("DELETE", f"{L}/versions/{{v}}/policy/sid", {}),
    ("DELETE", f"{L}/versions/1/policy/sid", {"RevisionId": "{v}"}),
    ("GET", f"/_nimbus/logs/{FUNCTION}", {"after": "{v}"}),
    ("GET", f"/_nimbus/logs/{FUNCTION}", {"limit": "{v}"}),
    ("GET", "/_nimbus/code/{v}.zip", {}),
    ("POST", "/", {"Action": "ListTopics", "NextToken": "{v}"}),
    (
        "POST",
        "/",
        {
            "Action": "SetSubscriptionAttributes",
            "SubscriptionArn": "arn:aws:sns:us-east-1:000000000000:t:{v}",
            "AttributeName": "RawMessageDelivery",
            "AttributeValue": "{v}",
        },
    ),
    ("POST", "/", {"Action": "CreateTopic", "Name": "t", "Attributes.entry.{v}.key": "a"}),
]

# Bodies: every numeric field a Lambda body carries, given a huge or odd number.
BODIES: list[tuple[str, str, str]] = [
    ("PUT", f"{F}/configuration", '{{"Timeout": {v}}}'),
    ("PUT", f"{F}/configuration", '{{"MemorySize": {v}}}'),
    ("PUT", f"{F}/configuration", '{{"EphemeralStorage": {{"Size": {v}}}}}'),
    (
        "PUT",
        f"/2017-10-31/functions/{FUNCTION}/concurrency",
        '{{"ReservedConcurrentExecutions": {v}}}',
    ),
    (
        "PUT",
        f"/2019-09-30/functions/{FUNCTION}/provisioned-concurrency?Qualifier=1",
        '{{"ProvisionedConcurrentExecutions": {v}}}',
    ),
    (
        "PUT",
        f"/2019-09-25/functions/{FUNCTION}/event-invoke-config",
        '{{"MaximumRetryAttempts": {v}}}',
    ),
    (
        "POST",
        f"/2019-09-25/functions/{FUNCTION}/event-invoke-config",
        '{{"MaximumEventAgeInSeconds": {v}}}',
    ),
    ("POST", f"{F}/aliases", '{{"Name": "n{v}", "FunctionVersion": "{v}"}}'),
    (
        "POST",
        f"{F}/aliases",
        '{{"Name": "w", "FunctionVersion": "1", '
        '"RoutingConfig": {{"AdditionalVersionWeights": {{"{v}": 0.5}}}}}}',
    ),
]
BODY_NUMBERS = ["99999999999999999999999", "-99999999999999999999999", "1e30", "-1", "1.5"]


# POST / here is SNS's query protocol: it is signed for SNS (the service it dispatches on).
SNS = SigV4Auth(ADMIN_ACCESS_KEY_ID, ADMIN_SECRET_ACCESS_KEY, region=REGION, service="sns")


@pytest.fixture(scope="module")
def prepared(server: NimbusServer, lam: Any) -> NimbusServer:
    create_function(lam, FUNCTION, code=CODE, Publish=True)
    lam.get_waiter("function_active_v2").wait(FunctionName=FUNCTION, WaiterConfig={"Delay": 1})
    lam.create_alias(FunctionName=FUNCTION, Name="live", FunctionVersion="1")
    lam.publish_layer_version(LayerName=LAYER_NAME, Content={"ZipFile": LAYER})
    return server


def _fill(template: str, value: str) -> str:
    return template.replace("{v}", value)


def test_numeric_path_and_query_parameters_never_answer_5xx(prepared: NimbusServer) -> None:
    failures = []
    with prepared.http(timeout=30) as client:
        for method, path, query in ROUTES:
            for value in VALUES:
                url = _fill(path, value)
                params = {_fill(k, value): _fill(v, value) for k, v in query.items()}
                content = b"{}" if method in ("POST", "PUT") and url != "/" else None
                auth = SNS if url == "/" else client.auth
                response = client.request(method, url, params=params, content=content, auth=auth)
                assert response.status_code != 403, (method, url, params, response.text)
                if response.status_code >= 500:
                    failures.append((method, url, params, response.status_code, response.text))
                else:
                    assert response.headers.get("x-amzn-requestid")
    assert failures == []


def test_numeric_body_fields_never_answer_5xx(prepared: NimbusServer) -> None:
    failures = []
    with prepared.http(timeout=30) as client:
        for method, path, template in BODIES:
            for value in BODY_NUMBERS:
                body = template.format(v=value)
                response = client.request(method, path, content=body.encode())
                assert response.status_code != 403, (method, path, body, response.text)
                if response.status_code >= 500:
                    failures.append((method, path, body, response.status_code, response.text))
    assert failures == []


@pytest.mark.parametrize(
    ("path", "query", "expected"),
    [
        (f"{L}/versions/99999999999999999999999", {}, (400, "ValidationException")),
        (f"{F}/versions", {"Marker": "99999999999999999999999"}, (400, None)),
        (f"{F}/versions", {"Marker": "1e30"}, (400, None)),
        (f"{F}/versions", {"MaxItems": "99999999999999999999999"}, (400, None)),
        (f"/_nimbus/logs/{FUNCTION}", {"after": "99999999999999999999999"}, (400, None)),
        (F, {"Qualifier": "99999999999999999999999"}, (404, "ResourceNotFoundException")),
    ],
)
def test_the_answers_are_those_aws_gives(
    prepared: NimbusServer, path: str, query: dict[str, str], expected: tuple[int, str | None]
) -> None:
    with prepared.http() as http:
        response = http.get(path, params=query)
    status, error_type = expected
    assert response.status_code == status, response.text
    assert response.headers["x-amzn-errortype"] == (error_type or "InvalidParameterValueException")
    assert json.loads(response.content)["message"]
