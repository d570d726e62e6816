"""Issue 12's "done when", end to end: a URL presigned by botocore (``generate_presigned_url``,
SigV4 in the query string) for a Lambda GET operation works when fetched with plain HTTP — no
credentials at hand — until X-Amz-Expires runs out; a URL altered after signing is refused,
and the signer's permissions still apply."""

from __future__ import annotations

import time
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from tests.integration.auth.helpers import MISMATCH, allow, client_as, unique, user_key
from tests.integration.invoke.helpers import deploy
from tests.support import NimbusServer

ECHO = "def handler(event, context):\n    return event\n"


def _with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def _refusal(response: httpx.Response) -> tuple[int, str, str]:
    return (
        response.status_code,
        response.headers.get("x-amzn-errortype", ""),
        response.json().get("message", ""),
    )


def test_a_presigned_get_function_configuration_works_without_credentials(
    server: NimbusServer, fname: str
) -> None:
    lam = server.client("lambda")
    deploy(lam, fname, ECHO)
    url = lam.generate_presigned_url(
        "get_function_configuration", Params={"FunctionName": fname}, ExpiresIn=300
    )
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=300" in url

    response = httpx.get(url, timeout=30)
    assert response.status_code == 200, response.text
    assert response.json()["FunctionName"] == fname
    # Fetched again, the same URL still works (a presigned URL is not single-use).
    assert httpx.get(url, timeout=30).json()["FunctionName"] == fname


def test_a_presigned_list_functions_honours_its_signed_parameters(
    server: NimbusServer, fname: str
) -> None:
    lam = server.client("lambda")
    deploy(lam, f"{fname}-a", ECHO)
    deploy(lam, f"{fname}-b", ECHO)
    url = lam.generate_presigned_url("list_functions", Params={"MaxItems": 1}, ExpiresIn=300)

    page = httpx.get(url, timeout=30)
    assert page.status_code == 200, page.text
    assert len(page.json()["Functions"]) == 1

    # Asking for more than was signed for: the signature no longer matches.
    widened = httpx.get(_with_query(url, MaxItems="50"), timeout=30)
    assert _refusal(widened) == (403, "InvalidSignatureException", MISMATCH)
    # Nor may the lifetime be stretched.
    stretched = httpx.get(_with_query(url, **{"X-Amz-Expires": "604800"}), timeout=30)
    assert _refusal(stretched) == (403, "InvalidSignatureException", MISMATCH)


def test_a_presigned_url_for_one_function_does_not_open_another(
    server: NimbusServer, fname: str
) -> None:
    lam = server.client("lambda")
    deploy(lam, fname, ECHO)
    deploy(lam, f"{fname}-other", ECHO)
    url = lam.generate_presigned_url(
        "get_function_configuration", Params={"FunctionName": fname}, ExpiresIn=300
    )
    moved = url.replace(f"/functions/{fname}/", f"/functions/{fname}-other/", 1)
    assert moved != url
    assert _refusal(httpx.get(moved, timeout=30)) == (403, "InvalidSignatureException", MISMATCH)


def test_a_presigned_url_stops_working_once_it_expires(server: NimbusServer, fname: str) -> None:
    lam = server.client("lambda")
    deploy(lam, fname, ECHO)
    url = lam.generate_presigned_url(
        "get_function_configuration", Params={"FunctionName": fname}, ExpiresIn=1
    )
    signed_at = dict(parse_qsl(urlsplit(url).query))["X-Amz-Date"]
    time.sleep(2.2)

    status, error_type, message = _refusal(httpx.get(url, timeout=30))
    assert (status, error_type) == (403, "InvalidSignatureException")
    assert message.startswith(f"Signature expired: {signed_at} is now earlier than ")
    assert message.endswith(" - 1 sec.)")


def test_a_presigned_url_acts_with_its_signers_permissions_only(
    server: NimbusServer, fname: str
) -> None:
    lam, iam = server.client("lambda"), server.client("iam")
    deploy(lam, fname, ECHO)
    user = unique("presigner")
    key = user_key(server, user, allow(("lambda:ListFunctions", "*")))
    theirs = client_as(server, "lambda", key)

    listed = httpx.get(theirs.generate_presigned_url("list_functions", ExpiresIn=300), timeout=30)
    assert listed.status_code == 200, listed.text

    denied = httpx.get(
        theirs.generate_presigned_url(
            "get_function_configuration", Params={"FunctionName": fname}, ExpiresIn=300
        ),
        timeout=30,
    )
    status, error_type, message = _refusal(denied)
    assert (status, error_type) == (403, "AccessDeniedException")
    assert f"user/{user} is not authorized to perform: lambda:GetFunctionConfiguration" in message

    # Once the key is deleted, URLs it signed are worthless.
    url = theirs.generate_presigned_url("list_functions", ExpiresIn=300)
    iam.delete_access_key(UserName=user, AccessKeyId=key["AccessKeyId"])
    gone = _refusal(httpx.get(url, timeout=30))
    assert gone == (
        403,
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
    )
