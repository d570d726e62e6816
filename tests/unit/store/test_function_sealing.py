"""Functions' environment variables are sealed in the store: the database file never holds
them in clear, a sealed value opens only in its own row, and stores written before sealing
still read and are sealed once at start."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from nimbus.auth.node_key import NodeKey
from nimbus.model.function import LATEST, FunctionRecord
from nimbus.store.database import open_engine
from nimbus.store.functions import UNOPENABLE, FunctionRepository
from nimbus.store.schema import function_versions
from nimbus.testing.catalog import function_config

MARKER = "s3cr3t-marker-7f1c"
KEY = NodeKey.generate()


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = await open_engine(f"sqlite+aiosqlite:///{tmp_path / 'nimbus.db'}")
    yield engine
    await engine.dispose()


def raw_bytes(tmp_path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in tmp_path.glob("nimbus.db*"))


async def raw_config(engine: AsyncEngine, name: str, version: str = LATEST) -> dict[str, object]:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                sa.select(function_versions.c.config).where(
                    function_versions.c.name == name, function_versions.c.version == version
                )
            )
        ).one()
    result: dict[str, object] = orjson.loads(row.config)
    return result


async def create(repo: FunctionRepository, name: str, variables: dict[str, str]) -> None:
    assert await repo.create(
        FunctionRecord(name=name), function_config(name, environment=variables)
    )


async def test_variables_round_trip_but_the_file_never_holds_them(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    repo = FunctionRepository(engine, sealer=KEY)
    await create(repo, "orders", {"DB_PASSWORD": MARKER})
    config = await repo.get_version("orders", LATEST)
    assert config is not None and dict(config.environment) == {"DB_PASSWORD": MARKER}
    assert config.environment_error is None
    stored = await raw_config(engine, "orders")
    assert isinstance(stored["environment"], str) and stored["environment"].startswith("v1.")
    published = await repo.publish(config)
    again = await repo.get_version("orders", published.version)
    assert again is not None and dict(again.environment) == {"DB_PASSWORD": MARKER}
    assert MARKER.encode() not in raw_bytes(tmp_path)


async def test_a_function_without_variables_stores_none(engine: AsyncEngine) -> None:
    repo = FunctionRepository(engine, sealer=KEY)
    await create(repo, "plain", {})
    assert (await raw_config(engine, "plain"))["environment"] == {}


async def test_a_sealed_value_copied_into_another_row_does_not_open(engine: AsyncEngine) -> None:
    repo = FunctionRepository(engine, sealer=KEY)
    await create(repo, "victim", {"TOKEN": MARKER})
    await create(repo, "thief", {"TOKEN": "x"})
    stolen = (await raw_config(engine, "victim"))["environment"]
    record = await raw_config(engine, "thief")
    record["environment"] = stolen
    async with engine.begin() as conn:
        await conn.execute(
            function_versions.update()
            .where(function_versions.c.name == "thief")
            .values(config=orjson.dumps(record).decode())
        )
    thief = await repo.get_version("thief", LATEST)
    assert thief is not None
    assert dict(thief.environment) == {} and thief.environment_error == UNOPENABLE


async def test_another_key_reports_an_error_and_keeps_the_variables(engine: AsyncEngine) -> None:
    await create(FunctionRepository(engine, sealer=KEY), "orders", {"TOKEN": MARKER})
    other = FunctionRepository(engine, sealer=NodeKey.generate())
    config = await other.get_version("orders", LATEST)
    assert config is not None and config.environment_error == UNOPENABLE
    # A write by the node with the wrong key (a timeout change) keeps what was stored...
    assert await other.put_version(config.replace(timeout=30))
    back = await FunctionRepository(engine, sealer=KEY).get_version("orders", LATEST)
    assert back is not None and back.timeout == 30
    assert dict(back.environment) == {"TOKEN": MARKER}
    # ...and new variables replace them.
    assert await other.put_version(config.replace(environment={"NEW": "1"}, environment_error=None))
    fixed = await other.get_version("orders", LATEST)
    assert fixed is not None and dict(fixed.environment) == {"NEW": "1"}


async def test_plaintext_rows_of_an_older_nimbus_read_and_are_sealed_at_start(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    repo = FunctionRepository(engine, sealer=KEY)
    await create(repo, "legacy", {})
    await repo.publish(function_config("legacy"))
    records = {version: await raw_config(engine, "legacy", version) for version in (LATEST, "1")}
    async with engine.begin() as conn:  # as a Nimbus before sealing wrote them
        for version, record in records.items():
            record["environment"] = {"API_KEY": MARKER}
            await conn.execute(
                function_versions.update()
                .where(function_versions.c.name == "legacy", function_versions.c.version == version)
                .values(config=orjson.dumps(record).decode())
            )
    before = await repo.get_version("legacy", "1")
    assert before is not None and dict(before.environment) == {"API_KEY": MARKER}
    assert MARKER.encode() in raw_bytes(tmp_path)

    assert await repo.reseal_plaintext() == 2
    assert MARKER.encode() not in raw_bytes(tmp_path)
    for version in (LATEST, "1"):
        after = await repo.get_version("legacy", version)
        assert after is not None and dict(after.environment) == {"API_KEY": MARKER}
    assert await repo.reseal_plaintext() == 0
