"""CodeSigningService over a real (SQLite) store: the configurations' life cycle, a function's
configuration, and the check a deployment goes through."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from nimbus.control import code_signature
from nimbus.control.code_signing import CodeSigningService
from nimbus.control.signature_rules import ConfigChanges
from nimbus.errors import (
    CodeSigningConfigNotFoundError,
    CodeVerificationFailedError,
    InvalidCodeSignatureError,
    InvalidParameterValueError,
    ResourceConflictError,
    ResourceNotFoundError,
)
from nimbus.model.arn import Arns
from nimbus.store.blobs import BlobStore
from nimbus.store.code_signing import CodeSigningRepository
from nimbus.store.database import open_engine
from nimbus.testing.archive import make_zip
from nimbus.testing.clock import ManualClock

ARNS = Arns(region="us-east-1", account="000000000000")
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
CODE = make_zip({"app.py": "def handler(event, context):\n    return event\n"})
SIGNED = code_signature.sign(CODE, KEY, region="us-east-1", account="000000000000", name="prod")
# One bit of the signed zip's first entry changed after signing.
TAMPERED = SIGNED[:40] + bytes([SIGNED[40] ^ 1]) + SIGNED[41:]
PROFILE = code_signature.profile_version_arn(
    region="us-east-1",
    account="000000000000",
    name="prod",
    public_key=code_signature.raw_public_key(KEY),
)


class Functions:
    def __init__(self, *names: str) -> None:
        self.names = set(names)

    async def get_record(self, name: str) -> object | None:
        return object() if name in self.names else None


class Rig:
    def __init__(self, repo: CodeSigningRepository) -> None:
        self.functions = Functions("fn", "other")
        self.clock = ManualClock()
        self.service = CodeSigningService(
            repo=repo, functions=self.functions, arns=ARNS, clock=self.clock
        )

    async def config(self, policy: str = "Enforce") -> str:
        changes = ConfigChanges(allowed_profiles=(PROFILE,), policy=policy)  # type: ignore[arg-type]
        return (await self.service.create(changes, tags={})).arn


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    engine = await open_engine(f"sqlite+aiosqlite:///{tmp_path / 'nimbus.db'}")
    yield Rig(CodeSigningRepository(engine))
    await engine.dispose()


async def test_a_config_is_created_read_updated_and_deleted(rig: Rig) -> None:
    created = await rig.service.create(
        ConfigChanges(allowed_profiles=(PROFILE,), description="prod"), tags={"team": "core"}
    )
    assert created.config_id.startswith("csc-") and len(created.config_id) == 21
    assert (
        created.arn
        == f"arn:aws:lambda:us-east-1:000000000000:code-signing-config:{created.config_id}"
    )
    assert created.policy == "Warn"  # AWS's default
    assert created.last_modified == "2023-11-14T22:13:20.000+0000"
    assert await rig.service.get(created.arn) == created
    rig.clock.advance(1)
    updated = await rig.service.update(created.arn, ConfigChanges(policy="Enforce"))
    assert (updated.policy, updated.description, updated.allowed_profiles) == (
        "Enforce",
        "prod",
        (PROFILE,),
    )
    assert updated.last_modified == "2023-11-14T22:13:21.000+0000"
    await rig.service.delete(created.arn)
    with pytest.raises(ResourceNotFoundError, match="can not be found"):
        await rig.service.get(created.arn)
    with pytest.raises(ResourceNotFoundError):
        await rig.service.delete(created.arn)


async def test_configs_are_listed_a_page_at_a_time(rig: Rig) -> None:
    arns = {await rig.config() for _ in range(5)}
    seen: list[str] = []
    marker = None
    while True:
        page, marker = await rig.service.list_configs(marker=marker, max_items=2)
        seen += [config.arn for config in page]
        if marker is None:
            break
    assert sorted(seen) == sorted(arns) and len(seen) == 5
    with pytest.raises(InvalidParameterValueError, match="Marker 'nope' is not valid"):
        await rig.service.list_configs(marker="nope", max_items=2)


async def test_a_config_in_use_cannot_be_deleted_until_its_function_lets_go(rig: Rig) -> None:
    arn = await rig.config()
    await rig.service.put_function_config("fn", arn)
    assert await rig.service.function_config("fn") == arn
    assert await rig.service.functions_using(arn, marker=None, max_items=50) == (
        ["arn:aws:lambda:us-east-1:000000000000:function:fn"],
        None,
    )
    with pytest.raises(ResourceConflictError, match="used by one or more functions"):
        await rig.service.delete(arn)
    await rig.service.delete_function_config("fn")
    assert await rig.service.function_config("fn") is None
    await rig.service.delete(arn)


async def test_a_deleted_function_stops_using_its_config(rig: Rig) -> None:
    arn = await rig.config()
    await rig.service.put_function_config("fn", arn)
    rig.functions.names.discard("fn")
    await rig.service.on_function_change("fn")
    await rig.service.delete(arn)  # no 409


async def test_missing_configs_and_functions_are_answered_as_aws_does(rig: Rig) -> None:
    arn = await rig.config()
    gone = arn[:-1] + ("0" if arn[-1] != "0" else "1")
    with pytest.raises(
        CodeSigningConfigNotFoundError, match="provided configuration is not deleted"
    ):
        await rig.service.put_function_config("fn", gone)
    with pytest.raises(ResourceNotFoundError, match="Function not found"):
        await rig.service.put_function_config("nope", arn)
    with pytest.raises(ResourceNotFoundError, match="Function not found"):
        await rig.service.function_config("nope")
    with pytest.raises(CodeSigningConfigNotFoundError):
        await rig.service.check_code("new", CODE, config_arn=gone)
    # A config of another region is not this endpoint's.
    with pytest.raises(ResourceNotFoundError):
        await rig.service.get(arn.replace("us-east-1", "eu-west-1"))


async def test_deployments_are_checked_against_the_functions_config(rig: Rig) -> None:
    assert await rig.service.check_code("fn", CODE) is None  # no config: nothing checked
    arn = await rig.config("Enforce")
    await rig.service.put_function_config("fn", arn)
    assert await rig.service.check_code("fn", SIGNED) == PROFILE
    with pytest.raises(CodeVerificationFailedError):
        await rig.service.check_code("fn", CODE)
    with pytest.raises(InvalidCodeSignatureError):
        await rig.service.check_code("fn", TAMPERED)
    assert await rig.service.check_code("other", CODE) is None  # another function's config


async def test_warn_deploys_untrusted_code_and_logs_why(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    arn = await rig.config("Warn")
    caplog.set_level(logging.WARNING, logger="nimbus.control.code_signing")
    assert await rig.service.check_code("new", CODE, config_arn=arn) is None
    assert "deploying untrusted code to new" in caplog.text and "not signed" in caplog.text
    with pytest.raises(InvalidCodeSignatureError):
        await rig.service.check_code("new", TAMPERED, config_arn=arn)


async def test_a_new_function_takes_its_config_and_drops_a_stale_one(rig: Rig) -> None:
    arn = await rig.config()
    await rig.service.use_on_create("fn", arn)
    assert await rig.service.function_config("fn") == arn
    # Re-created without one (the old function's row survived a crash): it has none.
    await rig.service.use_on_create("fn", None)
    assert await rig.service.function_config("fn") is None


async def test_the_layers_of_a_function_with_a_config_are_checked_too(tmp_path: Path) -> None:
    engine = await open_engine(f"sqlite+aiosqlite:///{tmp_path / 'nimbus.db'}")
    blobs = BlobStore(tmp_path / "code")
    layer_keys = {"signed-layer": blobs.put(SIGNED), "unsigned-layer": blobs.put(CODE)}

    async def layer_blob(arn: str) -> str:
        return layer_keys[arn]

    service = CodeSigningService(
        repo=CodeSigningRepository(engine),
        functions=Functions("fn"),
        arns=ARNS,
        clock=ManualClock(),
        layer_blob=layer_blob,
        blobs=blobs,
    )
    arn = (
        await service.create(ConfigChanges(allowed_profiles=(PROFILE,), policy="Enforce"), tags={})
    ).arn
    await service.put_function_config("fn", arn)
    assert await service.check_code("fn", SIGNED, layers=["signed-layer"]) == PROFILE
    with pytest.raises(CodeVerificationFailedError, match="signature for unsigned-layer"):
        await service.check_code("fn", SIGNED, layers=["signed-layer", "unsigned-layer"])
    # Only layers change (UpdateFunctionConfiguration): the code is not looked at.
    assert await service.check_code("fn", None, layers=["signed-layer"]) is None
    await engine.dispose()
