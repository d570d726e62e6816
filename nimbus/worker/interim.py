"""TEMPORARY while the sandbox worker host is being written: knows runtimes, runs nothing."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence

from nimbus.errors import ServiceError
from nimbus.model.invocation import EnvironmentSpec
from nimbus.runtimes import registry
from nimbus.worker.ports import Environment


class InterimHost:
    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def create_environment(self, spec: EnvironmentSpec) -> Environment:
        raise ServiceError("No worker host on this node yet.")

    def runnable_runtimes(self) -> Sequence[str]:
        version = f"{sys.version_info.major}.{sys.version_info.minor}"
        return registry.probe_runnable((version,), 20 if shutil.which("node") else None)
