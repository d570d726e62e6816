"""StateReason and other reasons shown to callers never carry the server's paths."""

from __future__ import annotations

import asyncio
import errno
import zipfile
from collections.abc import Sequence
from io import BytesIO
from pathlib import Path

from nimbus.auth.node_key import NodeKey
from nimbus.control.functions import ConfigChanges, FunctionService
from nimbus.control.validation import CheckedZip
from nimbus.errors import ResourceNotFoundError, public_reason
from nimbus.model.function import LATEST, LayerRef
from nimbus.store.blobs import BlobStore
from nimbus.store.database import open_engine
from nimbus.store.functions import FunctionRepository
from nimbus.testing.catalog import ARNS
from nimbus.testing.clock import ManualClock

HOST_PATH = "/srv/nimbus-data/code/extracted/3f9a"


def test_an_os_error_shows_its_reason_not_its_path() -> None:
    exc = OSError(errno.ENOSPC, "No space left on device", HOST_PATH)
    assert HOST_PATH in str(exc)  # what the reason must not repeat
    assert public_reason(exc) == "No space left on device"


def test_other_errors_show_their_type_and_nimbus_errors_their_message() -> None:
    assert public_reason(RuntimeError(f"failed in {HOST_PATH}")) == "RuntimeError"
    assert public_reason(ResourceNotFoundError("Function not found: f")) == "Function not found: f"


class FullDisk(BlobStore):
    async def extracted(self, key: str) -> Path:
        raise OSError(errno.ENOSPC, "No space left on device", HOST_PATH)


def zip_bytes() -> bytes:
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(e, c):\n    return e\n")
    return buffer.getvalue()


async def no_layers(arns: Sequence[str]) -> tuple[tuple[LayerRef, ...], int]:
    return (), 0


async def test_a_failed_activation_names_no_host_path(tmp_path: Path) -> None:
    engine = await open_engine(f"sqlite+aiosqlite:///{tmp_path / 'nimbus.db'}")
    functions = FunctionService(
        repo=FunctionRepository(engine, sealer=NodeKey.generate()),
        blobs=FullDisk(tmp_path / "code"),
        arns=ARNS,
        clock=ManualClock(),
        layers=no_layers,
        runnable_runtimes=lambda: ["python3.11"],
    )
    data = zip_bytes()
    try:
        await functions.create(
            name="f",
            changes=ConfigChanges(
                runtime="python3.11",
                handler="app.handler",
                role="arn:aws:iam::000000000000:role/r",
            ),
            code=CheckedZip(data=data, unzipped_size=len(data)),
            tags={},
        )
        for _ in range(200):
            config = await functions.get_version("f", LATEST)
            if config.state != "Pending":
                break
            await asyncio.sleep(0.01)
        assert config.state == "Failed"
        assert config.state_reason_code == "InvalidZipFileException"
        for reason in (config.state_reason, config.last_update_status_reason):
            assert reason == "Could not prepare the deployment package: No space left on device"
            assert str(tmp_path) not in reason and "/srv/" not in reason
    finally:
        await functions.close()
        await engine.dispose()
