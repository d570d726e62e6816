"""End to end: provisioned concurrency configs survive a server restart.

A config on a version and one on an alias are stored; after a restart on the same data
directory both come back READY with the requested count, and invokes through them are served
by provisioned environments (as on AWS, where a config outlives any one execution host).
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from tests.integration.invoke.helpers import call, deploy, settled_provisioned
from tests.support import NimbusServer, make_zip

INIT_TYPE = (
    "import os\ndef handler(e, c):\n    return os.environ['AWS_LAMBDA_INITIALIZATION_TYPE']\n"
)


def wait_ready(lam: Any, name: str, qualifier: str, count: int) -> dict[str, Any]:
    config = settled_provisioned(lam, name, qualifier)
    assert config["Status"] == "READY", config
    assert config["RequestedProvisionedConcurrentExecutions"] == count
    assert config["AllocatedProvisionedConcurrentExecutions"] == count
    return config


def served_by_provisioned(lam: Any, name: str, qualifier: str) -> None:
    response, out = call(lam, name, {}, Qualifier=qualifier, LogType="Tail")
    assert out == "provisioned-concurrency"
    assert "Init Duration" not in base64.b64decode(response["LogResult"]).decode()


def test_provisioned_configs_are_ready_again_after_a_restart(tmp_path: Path) -> None:
    server = NimbusServer(data_dir=tmp_path / "data")
    server.start()
    try:
        lam = server.client()
        deploy(lam, "pc", INIT_TYPE)
        v1 = lam.publish_version(FunctionName="pc")["Version"]
        lam.update_function_code(
            FunctionName="pc", ZipFile=make_zip({"app.py": INIT_TYPE + "# v2\n"})
        )
        lam.get_waiter("function_updated_v2").wait(FunctionName="pc")
        v2 = lam.publish_version(FunctionName="pc")["Version"]
        lam.create_alias(FunctionName="pc", Name="live", FunctionVersion=v2)
        lam.put_provisioned_concurrency_config(
            FunctionName="pc", Qualifier=v1, ProvisionedConcurrentExecutions=1
        )
        lam.put_provisioned_concurrency_config(
            FunctionName="pc", Qualifier="live", ProvisionedConcurrentExecutions=2
        )
        wait_ready(lam, "pc", v1, 1)
        wait_ready(lam, "pc", "live", 2)
    finally:
        server.stop()

    server.start()
    try:
        lam = server.client()
        wait_ready(lam, "pc", v1, 1)
        wait_ready(lam, "pc", "live", 2)
        served_by_provisioned(lam, "pc", v1)
        served_by_provisioned(lam, "pc", "live")
        _, out = call(lam, "pc", {"v": True}, Qualifier="live")
        assert out == "provisioned-concurrency"
    finally:
        server.stop()
