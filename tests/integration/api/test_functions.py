"""End to end: the Lambda control-plane API for functions, driven by boto3."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from nimbus.testing.wire_oracle import Answer, error_type
from tests.support import ROLE, NimbusServer, create_function, error_of, make_zip

CODE = make_zip({"app.py": "def handler(event, context):\n    return event\n"})


def create(lam: Any, name: str, **overrides: Any) -> dict[str, Any]:
    return create_function(lam, name, code=CODE, **overrides)


def test_create_reports_configuration_and_becomes_active(lam: Any, fname: str) -> None:
    created = create(
        lam,
        fname,
        MemorySize=256,
        Timeout=30,
        Description="hello",
        Environment={"Variables": {"GREETING": "hi"}},
        EphemeralStorage={"Size": 1024},
        Architectures=["arm64"],
        Tags={"team": "core"},
    )
    assert created["FunctionName"] == fname
    assert created["FunctionArn"] == f"arn:aws:lambda:us-east-1:000000000000:function:{fname}"
    assert created["State"] == "Pending"
    assert created["CodeSha256"] == base64.b64encode(hashlib.sha256(CODE).digest()).decode()
    assert created["CodeSize"] == len(CODE)
    assert created["Version"] == "$LATEST"
    lam.get_waiter("function_active_v2").wait(FunctionName=fname, WaiterConfig={"Delay": 1})
    got = lam.get_function(FunctionName=fname)
    config = got["Configuration"]
    assert config["State"] == "Active"
    assert config["MemorySize"] == 256 and config["Timeout"] == 30
    assert config["Description"] == "hello"
    assert config["Environment"]["Variables"] == {"GREETING": "hi"}
    assert config["EphemeralStorage"] == {"Size": 1024}
    assert config["Architectures"] == ["arm64"]
    assert config["RevisionId"]
    assert got["Tags"] == {"team": "core"}
    downloaded = httpx.get(got["Code"]["Location"]).content
    assert downloaded == CODE


@pytest.mark.parametrize("key", ["a" * 300, "A" * 64, "0" * 64, "abc"])
def test_a_code_key_that_is_no_blob_is_not_found(server: NimbusServer, key: str) -> None:
    # A 300-character key was a 500 (ENAMETOOLONG from the disk), found by the API fuzz.
    # Signed (a code URL's own presigned query is for its own key); the code URLs stand in
    # for S3's, and answer in S3's XML.
    with server.http() as http:
        response = http.get(f"/_nimbus/code/{key}.zip")
    assert response.status_code == 404
    answer = Answer(response.status_code, response.headers, response.content)
    assert error_type("s3-xml", answer) == "ResourceNotFound", response.text


def test_names_full_and_partial_arns_are_accepted(lam: Any, fname: str) -> None:
    create(lam, fname)
    full = f"arn:aws:lambda:us-east-1:000000000000:function:{fname}"
    partial = f"000000000000:function:{fname}"
    for ref in (fname, full, partial):
        assert lam.get_function_configuration(FunctionName=ref)["FunctionName"] == fname


def test_list_functions_paginates_with_marker(lam: Any, fname: str) -> None:
    names = [f"{fname}-{i}" for i in range(5)]
    for name in names:
        create(lam, name)
    seen: list[str] = []
    marker = None
    for _ in range(100):
        kwargs: dict[str, Any] = {"MaxItems": 2}
        if marker:
            kwargs["Marker"] = marker
        page = lam.list_functions(**kwargs)
        assert len(page["Functions"]) <= 2
        seen += [f["FunctionName"] for f in page["Functions"]]
        marker = page.get("NextMarker")
        if not marker:
            break
    assert [n for n in seen if n in names] == sorted(names)
    assert len(seen) == len(set(seen))


def test_update_code_changes_sha_and_revision_and_honours_revision_id(lam: Any, fname: str) -> None:
    created = create(lam, fname)
    lam.get_waiter("function_active_v2").wait(FunctionName=fname, WaiterConfig={"Delay": 1})
    new_code = make_zip({"app.py": "def handler(e, c):\n    return 2\n"})
    with pytest.raises(ClientError) as exc:
        lam.update_function_code(FunctionName=fname, ZipFile=new_code, RevisionId="stale")
    assert error_of(exc)[:2] == ("PreconditionFailedException", 412)
    current = lam.get_function_configuration(FunctionName=fname)
    updated = lam.update_function_code(
        FunctionName=fname, ZipFile=new_code, RevisionId=current["RevisionId"]
    )
    assert updated["CodeSha256"] == base64.b64encode(hashlib.sha256(new_code).digest()).decode()
    assert updated["RevisionId"] != created["RevisionId"]
    lam.get_waiter("function_updated_v2").wait(FunctionName=fname, WaiterConfig={"Delay": 1})
    assert lam.get_function_configuration(FunctionName=fname)["LastUpdateStatus"] == "Successful"
    assert httpx.get(lam.get_function(FunctionName=fname)["Code"]["Location"]).content == new_code


def test_update_configuration_keeps_unspecified_fields(lam: Any, fname: str) -> None:
    create(lam, fname, Timeout=10, Environment={"Variables": {"KEY": "1"}})
    before = lam.get_function_configuration(FunctionName=fname)
    updated = lam.update_function_configuration(FunctionName=fname, MemorySize=512)
    assert updated["MemorySize"] == 512
    assert updated["Timeout"] == 10
    assert updated["Environment"]["Variables"] == {"KEY": "1"}
    assert updated["RevisionId"] != before["RevisionId"]
    lam.get_waiter("function_updated_v2").wait(FunctionName=fname, WaiterConfig={"Delay": 1})


def test_delete_then_not_found(lam: Any, fname: str) -> None:
    create(lam, fname)
    lam.delete_function(FunctionName=fname)
    with pytest.raises(ClientError) as exc:
        lam.get_function(FunctionName=fname)
    code, status, message = error_of(exc)
    assert (code, status) == ("ResourceNotFoundException", 404)
    assert fname in message
    with pytest.raises(ClientError) as exc:
        lam.delete_function(FunctionName=fname)
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_tags_roundtrip(lam: Any, fname: str) -> None:
    arn = create(lam, fname, Tags={"a": "1"})["FunctionArn"]
    lam.tag_resource(Resource=arn, Tags={"b": "2", "c": "3"})
    assert lam.list_tags(Resource=arn)["Tags"] == {"a": "1", "b": "2", "c": "3"}
    lam.untag_resource(Resource=arn, TagKeys=["a", "c"])
    assert lam.list_tags(Resource=arn)["Tags"] == {"b": "2"}


def test_account_settings_count_functions(lam: Any, fname: str) -> None:
    before = lam.get_account_settings()
    create(lam, fname)
    after = lam.get_account_settings()
    assert after["AccountUsage"]["FunctionCount"] == before["AccountUsage"]["FunctionCount"] + 1
    assert after["AccountUsage"]["TotalCodeSize"] >= len(CODE)
    assert after["AccountLimit"]["ConcurrentExecutions"] == 1000
    assert after["AccountLimit"]["CodeSizeZipped"] == 52_428_800


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"MemorySize": 20_000}, "InvalidParameterValueException"),
        ({"Timeout": 901}, "InvalidParameterValueException"),
        ({"Runtime": "cobol1.0"}, "InvalidParameterValueException"),
        ({"Runtime": "python2.7"}, "InvalidParameterValueException"),
        ({"Runtime": "nodejs22.x"}, "InvalidParameterValueException"),
        ({"Handler": "nodot"}, "InvalidParameterValueException"),
        ({"Code": {"ZipFile": b"this is not a zip"}}, "InvalidParameterValueException"),
        ({"Code": {"ZipFile": make_zip({})}}, "InvalidParameterValueException"),
        ({"Environment": {"Variables": {"AWS_REGION": "x"}}}, "InvalidParameterValueException"),
        ({"EphemeralStorage": {"Size": 20_000}}, "InvalidParameterValueException"),
        ({"Layers": ["not-an-arn"]}, "InvalidParameterValueException"),
    ],
)
def test_bad_create_input_is_rejected_with_aws_error(
    lam: Any, fname: str, overrides: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ClientError) as exc:
        create(lam, fname, **overrides)
    code, status, message = error_of(exc)
    assert (code, status) == (expected, 400)
    assert message
    with pytest.raises(ClientError) as missing:
        lam.get_function(FunctionName=fname)
    assert error_of(missing)[0] == "ResourceNotFoundException"


def test_unrunnable_runtime_message_names_runnable_ones(lam: Any, fname: str) -> None:
    with pytest.raises(ClientError) as exc:
        create(lam, fname, Runtime="nodejs22.x")
    assert "python3.11" in error_of(exc)[2]


def test_duplicate_name_conflicts(lam: Any, fname: str) -> None:
    create(lam, fname)
    with pytest.raises(ClientError) as exc:
        create(lam, fname)
    assert error_of(exc)[:2] == ("ResourceConflictException", 409)


def test_bad_function_name_is_rejected(server: NimbusServer) -> None:
    with server.http() as http:
        response = http.get("/2015-03-31/functions/bad%20name%21")
    assert response.status_code == 400
    assert response.headers["x-amzn-errortype"] in (
        "ValidationException",
        "InvalidParameterValueException",
    )


def test_body_that_is_not_json_is_a_400(server: NimbusServer) -> None:
    with server.http() as http:
        response = http.post(
            "/2015-03-31/functions",
            content=b"{not json",
            headers={"content-type": "application/json"},
        )
    assert response.status_code == 400
    assert response.headers["x-amzn-errortype"] == "InvalidRequestContentException"
    assert response.json()["message"]


def test_json_that_is_not_an_object_is_a_400(server: NimbusServer) -> None:
    with server.http() as http:
        response = http.post("/2015-03-31/functions", content=b"[1, 2]")
    assert response.status_code == 400
    assert response.headers["x-amzn-errortype"] == "InvalidRequestContentException"


def test_wrongly_typed_fields_are_400_not_500(server: NimbusServer, fname: str) -> None:
    body = {
        "FunctionName": fname,
        "Runtime": "python3.11",
        "Role": ROLE,
        "Handler": "app.handler",
        "Code": {"ZipFile": base64.b64encode(CODE).decode()},
        "MemorySize": "lots",
    }
    with server.http() as http:
        response = http.post("/2015-03-31/functions", json=body)
        assert response.status_code == 400
        bad: dict[str, Any]
        for bad in ({"Code": "x"}, {"Environment": []}, {"Tags": [1]}, {"Timeout": None}):
            response = http.post("/2015-03-31/functions", json={**body, **bad})
            assert response.status_code == 400, (bad, response.text)


def test_zip_over_50mb_is_request_entity_too_large(server: NimbusServer) -> None:
    oversized = b'{"FunctionName": "big", "Code": {"ZipFile": "' + b"A" * 70_000_000 + b'"}}'
    # Signed, as an SDK sends it: the size is refused by Content-Length before the signature
    # is checked (that needs the whole body), in Lambda's words for CreateFunction.
    with server.http(timeout=60) as http:
        response = http.post("/2015-03-31/functions", content=oversized)
    assert response.status_code == 413
    assert response.headers["x-amzn-errortype"] == "RequestEntityTooLargeException"


def test_zip_over_250mb_unzipped_is_rejected(lam: Any, fname: str) -> None:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("app.py", "def handler(e, c): return 1\n")
        with archive.open("big.bin", "w", force_zip64=True) as big:
            chunk = b"\0" * (1 << 20)
            for _ in range(251):
                big.write(chunk)
    with pytest.raises(ClientError) as exc:
        create(lam, fname, Code={"ZipFile": buffer.getvalue()})
    code, status, message = error_of(exc)
    assert (code, status) == ("InvalidParameterValueException", 400)
    assert "262144000" in message
