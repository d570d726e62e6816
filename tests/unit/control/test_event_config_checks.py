"""EventConfigService's checks on a write, in AWS's order (the order and messages are those
of AWS's answers recorded in LocalStack's AWS-validated snapshots): the function, then an
Update's configuration, then each destination's existence, then the function itself."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import cast

import pytest

from nimbus.control.event_config import EventConfigService
from nimbus.errors import InvalidParameterValueError, ResourceNotFoundError
from nimbus.model.arn import Arns
from nimbus.model.function import FunctionConfig
from nimbus.store.database import open_engine
from nimbus.store.event_configs import EventConfigRepository
from nimbus.testing.clock import ManualClock

ARNS = Arns(region="us-east-1", account="000000000000")
QUEUE = "arn:aws:sqs:us-east-1:000000000000:failed"
GONE = "arn:aws:sqs:us-east-1:000000000000:gone"
SELF = "arn:aws:lambda:us-east-1:000000000000:function:fn"
OTHER = "arn:aws:lambda:us-east-1:000000000000:function:other"


class Directory:
    def __init__(self, *known: str) -> None:
        self.known = set(known)
        self.asked: list[str] = []

    async def exists(self, arn: str) -> bool:
        self.asked.append(arn)
        return arn in self.known


async def resolve(name: str, qualifier: str | None) -> FunctionConfig:
    if name != "fn" or qualifier not in (None, "$LATEST", "1"):
        raise ResourceNotFoundError("Function not found")
    return cast(FunctionConfig, object())  # the service only needs to know it exists


class Rig:
    def __init__(self, repo: EventConfigRepository) -> None:
        self.directory = Directory(QUEUE, SELF, f"{SELF}:1", OTHER)
        self.service = EventConfigService(
            repo=repo, resolve=resolve, destinations=self.directory, arns=ARNS, clock=ManualClock()
        )


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    engine = await open_engine(f"sqlite+aiosqlite:///{tmp_path / 'nimbus.db'}")
    yield Rig(EventConfigRepository(engine))
    await engine.dispose()


async def test_a_destination_that_does_not_exist_is_refused(rig: Rig) -> None:
    with pytest.raises(InvalidParameterValueError) as exc:
        await rig.service.put("fn", None, on_failure=GONE)
    assert exc.value.message == f"The destination ARN {GONE} is invalid."
    with pytest.raises(ResourceNotFoundError):
        await rig.service.get("fn", None)  # nothing was written
    config = await rig.service.put("fn", None, on_failure=QUEUE, on_success=OTHER)
    assert (config.on_failure, config.on_success) == (QUEUE, OTHER)


@pytest.mark.parametrize("arn", [SELF, f"{SELF}:1"])
async def test_the_function_itself_is_refused_in_any_version(rig: Rig, arn: str) -> None:
    with pytest.raises(InvalidParameterValueError) as exc:
        await rig.service.put("fn", None, on_success=arn)
    assert exc.value.message == "You can't specify the function as a destination for itself."


async def test_a_missing_function_is_a_404_before_destinations_are_looked_at(rig: Rig) -> None:
    with pytest.raises(ResourceNotFoundError):
        await rig.service.put("nope", None, on_failure=GONE)
    assert rig.directory.asked == []


async def test_update_needs_a_configuration_to_update(rig: Rig) -> None:
    with pytest.raises(ResourceNotFoundError) as exc:
        await rig.service.update("fn", "1", maximum_retry_attempts=0)
    assert exc.value.message == (
        "The function arn:aws:lambda:us-east-1:000000000000:function:fn:1 "
        "doesn't have an EventInvokeConfig"
    )
    await rig.service.put("fn", "1", maximum_retry_attempts=1, on_failure=QUEUE)
    with pytest.raises(InvalidParameterValueError):
        await rig.service.update("fn", "1", on_success=GONE)
    kept = await rig.service.get("fn", "1")
    assert (kept.maximum_retry_attempts, kept.on_failure, kept.on_success) == (1, QUEUE, None)
    updated = await rig.service.update("fn", "1", maximum_retry_attempts=0)
    assert (updated.maximum_retry_attempts, updated.on_failure) == (0, QUEUE)
