"""End to end: a provisioned-concurrency config whose Init fails goes FAILED, as on AWS
(StatusReason FUNCTION_ERROR_INIT_FAILURE), and is not retried in a loop."""

from __future__ import annotations

import time
from typing import Any

from tests.integration.invoke.helpers import deploy, settled_provisioned


def test_a_failing_init_fails_the_config_and_stays_failed(lam: Any, fname: str) -> None:
    deploy(lam, fname, "raise RuntimeError('no database')\ndef handler(e, c):\n    return 1\n")
    version = lam.publish_version(FunctionName=fname)["Version"]
    lam.put_provisioned_concurrency_config(
        FunctionName=fname, Qualifier=version, ProvisionedConcurrentExecutions=2
    )
    config = settled_provisioned(lam, fname, version, timeout_s=20)
    assert config["Status"] == "FAILED", config
    assert config["StatusReason"] == "FUNCTION_ERROR_INIT_FAILURE"
    time.sleep(2.5)  # the maintenance loop runs every second: it must not start over
    again = lam.get_provisioned_concurrency_config(FunctionName=fname, Qualifier=version)
    assert again["Status"] == "FAILED"
    assert again["AllocatedProvisionedConcurrentExecutions"] == 0
    lam.delete_provisioned_concurrency_config(FunctionName=fname, Qualifier=version)
