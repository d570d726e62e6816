"""Launch planning: what a sandbox runs and sees, per runtime family and isolation (pure)."""

from __future__ import annotations

from pathlib import Path

from nimbus.model.invocation import EnvironmentSpec
from nimbus.worker.sandbox.launch import LaunchPlan, plan_launch, sandbox_config


def spec(code_dir: Path, runtime: str = "python3.11") -> EnvironmentSpec:
    return EnvironmentSpec(
        function_name="f",
        function_version="3",
        function_arn="arn:f",
        runtime=runtime,
        handler="app.h",
        code_dir=code_dir,
    )


def host_plan(spec: EnvironmentSpec, *, namespaces: bool) -> LaunchPlan:
    """The plan on a host whose Python is /usr/bin/python3.11, with no Node and no layers."""
    return plan_launch(
        spec,
        namespaces=namespaces,
        opt=None,
        python="/usr/bin/python3.11",
        python_prefix="/usr",
        python_version="3.11",
        node=None,
        boto_path=None,
    )


def test_launch_plan_and_config_for_process_isolation(tmp_path: Path) -> None:
    plan = host_plan(spec(tmp_path), namespaces=False)
    assert plan.argv is None  # forked from the zygote, not exec'd
    assert plan.paths.task_root == str(tmp_path) and plan.binds == ()
    config = sandbox_config(
        spec(tmp_path),
        plan,
        env_id="e1",
        isolation="process",
        environ={"A": "1"},
        uid=None,
        root_dir=tmp_path / "root",
    )
    assert (config.uid, config.gid, config.cgroup_procs) == (0, 0, ())
    assert config.workdir == str(tmp_path) and config.handler == "app.h"
    assert config.root_dir == str(tmp_path / "root")


def test_custom_runtime_without_bootstrap_has_no_entrypoint(tmp_path: Path) -> None:
    plan = host_plan(spec(tmp_path, "provided.al2023"), namespaces=True)
    assert plan.missing_entrypoint.startswith("Couldn't find valid bootstrap(s)")
    (tmp_path / "bootstrap").write_text("#!/bin/sh\n")
    (tmp_path / "bootstrap").chmod(0o755)
    found = host_plan(spec(tmp_path, "provided.al2023"), namespaces=True)
    assert found.missing_entrypoint == "" and found.argv == ("/var/task/bootstrap",)
