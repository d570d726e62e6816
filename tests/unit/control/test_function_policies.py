"""The function policy service over a real (SQLite) store with fake functions and aliases:
which document an ARN's policy is, and that deleted functions, versions and aliases take
their policies with them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest

from nimbus.control.function_policies import FunctionPolicyService
from nimbus.errors import (
    AccessDeniedError,
    InvalidParameterValueError,
    ResourceNotFoundError,
    ValidationError,
)
from nimbus.model.arn import Arns
from nimbus.store.database import open_engine
from nimbus.store.function_policies import FunctionPolicyRepository

ARNS = Arns(region="us-east-1", account="000000000000")
FN = "arn:aws:lambda:us-east-1:000000000000:function:f"
BODY = {"StatementId": "s", "Action": "lambda:InvokeFunction", "Principal": "111122223333"}


class Functions:
    def __init__(self) -> None:
        self.versions: dict[str, set[str]] = {"f": {"$LATEST", "1"}}

    async def exists(self, name: str) -> bool:
        return name in self.versions

    async def get_version(self, name: str, version: str = "$LATEST") -> object:
        if version not in self.versions.get(name, set()):
            raise ResourceNotFoundError(f"Function not found: {ARNS.function(name, version)}")
        return object()


class Aliases:
    def __init__(self) -> None:
        self.names = {("f", "live")}

    async def get(self, name: str, alias: str) -> object:
        if (name, alias) not in self.names:
            raise ResourceNotFoundError(f"Cannot find alias arn: {ARNS.function(name, alias)}")
        return object()


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[tuple[FunctionPolicyService, Functions, Aliases]]:
    engine = await open_engine(f"sqlite+aiosqlite:///{tmp_path / 'nimbus.db'}")
    functions, aliases = Functions(), Aliases()
    service = FunctionPolicyService(
        repo=FunctionPolicyRepository(engine), functions=functions, aliases=aliases, arns=ARNS
    )
    yield service, functions, aliases
    await engine.dispose()


async def test_an_arn_reads_its_own_qualifiers_policy(
    rig: tuple[FunctionPolicyService, Functions, Aliases],
) -> None:
    service, _, _ = rig
    await service.add_permission("f", None, BODY, revision_id=None)
    await service.add_permission("f", "live", {**BODY, "StatementId": "a"}, revision_id=None)
    unqualified = await service.resource_policy(FN)
    assert unqualified is not None and unqualified["Statement"][0]["Resource"] == FN
    # $LATEST is covered by the function's own policy; an alias has only its own.
    assert await service.resource_policy(FN + ":$LATEST") == unqualified
    alias = await service.resource_policy(FN + ":live")
    assert alias is not None and [s["Sid"] for s in alias["Statement"]] == ["a"]
    assert await service.resource_policy(FN + ":1") is None
    # Never raises: other regions, accounts, services and nonsense have no policy here.
    for other in (
        "arn:aws:lambda:eu-west-1:000000000000:function:f",
        "arn:aws:lambda:us-east-1:111122223333:function:f",
        "arn:aws:sqs:us-east-1:000000000000:q",
        "",
    ):
        assert await service.resource_policy(other) is None


async def test_deleted_versions_and_functions_lose_their_policies(
    rig: tuple[FunctionPolicyService, Functions, Aliases],
) -> None:
    service, functions, aliases = rig
    await service.add_permission("f", None, BODY, revision_id=None)
    await service.add_permission("f", "1", BODY, revision_id=None)
    await service.add_permission("f", "live", BODY, revision_id=None)
    functions.versions["f"].discard("1")
    await service.on_function_change("f")
    assert await service.resource_policy(FN + ":1") is None
    assert await service.resource_policy(FN) is not None
    aliases.names.clear()
    await service.qualifier_deleted("f", "live")
    assert await service.resource_policy(FN + ":live") is None
    del functions.versions["f"]
    await service.on_function_change("f")
    functions.versions["f"] = {"$LATEST"}  # a new function of the same name
    assert await service.resource_policy(FN) is None
    with pytest.raises(ResourceNotFoundError):
        await service.get_policy("f", None)


async def test_resource_arns_are_checked_as_the_model_and_the_account_say(
    rig: tuple[FunctionPolicyService, Functions, Aliases],
) -> None:
    service, _, _ = rig
    assert service.parse_resource_arn(FN + ":live") == ("f", "live")
    assert service.parse_resource_arn(FN + ":$LATEST") == ("f", "")
    with pytest.raises(ValidationError, match="resourceArn"):
        service.parse_resource_arn("f")
    with pytest.raises(AccessDeniedError):
        service.parse_resource_arn("arn:aws:lambda:us-east-1:111122223333:function:f")


async def test_the_whole_document_round_trips_and_add_permission_extends_it(
    rig: tuple[FunctionPolicyService, Functions, Aliases],
) -> None:
    service, _, _ = rig
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "x", "Effect": "Allow", "Principal": "*", "Action": "lambda:*", "Resource": FN}
        ],
    }
    put = await service.put_resource_policy(FN, orjson.dumps(document).decode(), revision_id=None)
    assert orjson.loads(put.document) == document
    await service.add_permission("f", None, BODY, revision_id=put.revision_id)
    got = await service.get_resource_policy(FN)
    assert [s["Sid"] for s in orjson.loads(got.document)["Statement"]] == ["x", "s"]
    assert got.revision_id != put.revision_id


async def test_a_document_the_policy_grammar_refuses_is_invalid_parameter(
    rig: tuple[FunctionPolicyService, Functions, Aliases],
) -> None:
    service, _, _ = rig
    no_action = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*"}]}'
    with pytest.raises(InvalidParameterValueError, match="must contain actions"):
        await service.put_resource_policy(FN, no_action, revision_id=None)
