"""What to run in a sandbox and what it must see, per runtime family and isolation level."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from nimbus.model.invocation import EnvironmentSpec
from nimbus.runtimes import registry
from nimbus.worker import env_vars
from nimbus.worker.sandbox.config import Bind, SandboxConfig

NIMBUS_PACKAGE = Path(__file__).resolve().parents[2]
NIMBUS_ROOT = NIMBUS_PACKAGE.parent
NODE_CLIENT = "nimbus/runtimes/clients/node_runtime.js"


@dataclass(frozen=True, kw_only=True)
class LaunchPlan:
    paths: env_vars.Paths
    argv: tuple[str, ...] | None  # None: the zygote runs the Python client in-process
    sys_path: tuple[str, ...] = ()
    sys_path_tail: tuple[str, ...] = ()
    binds: tuple[Bind, ...] = ()
    missing_entrypoint: str = ""  # set when a custom runtime has no runnable bootstrap


def plan_launch(
    spec: EnvironmentSpec,
    *,
    namespaces: bool,
    opt: Path | None,
    python: str,
    python_prefix: str,
    python_version: str,
    node: str | None,
    boto_path: Path | None,
    runtime_package: Path = NIMBUS_PACKAGE,
) -> LaunchPlan:
    """``runtime_package``: the ``nimbus`` package sandboxes see at /var/runtime/nimbus (the
    code volume's copy, ``sandbox.code_volume``, or this checkout's)."""
    if namespaces:
        paths = env_vars.Paths()
        binds = [
            Bind(source=str(spec.code_dir), target="/var/task"),
            Bind(source=str(runtime_package), target="/var/runtime/nimbus"),
            Bind(source=python_prefix, target=python_prefix),
            Bind(source=python_prefix, target="/var/lang"),
        ]
        if opt is not None:
            binds.append(Bind(source=str(opt), target="/opt"))
        boto_inside = f"/var/lang/lib/python{python_version}/site-packages"
        if not os.path.isdir(f"{python_prefix}/lib/python{python_version}/site-packages"):
            # A distribution's Python (/usr) has no site-packages there, and nothing can be
            # made inside the read-only /var/lang: bind it into the sandbox's own tree.
            boto_inside = "/var/runtime/boto"
        if boto_path is not None:
            # Where Lambda's Python runtimes keep their bundled boto3.
            binds.append(Bind(source=str(boto_path), target=boto_inside))
        if node and not os.path.realpath(node).startswith("/usr/"):
            prefix = str(Path(os.path.realpath(node)).parents[1])
            binds.append(Bind(source=prefix, target=prefix))
        python_cmd = f"/var/lang/bin/python{python_version}"
    else:
        paths = env_vars.Paths(
            task_root=str(spec.code_dir),
            opt=str(opt or "/opt"),
            runtime_dir=str(NIMBUS_ROOT),
            lang_bin=str(Path(python).parent),
        )
        binds = []
        python_cmd = python
        boto_inside = str(boto_path)
    opt_dir = paths.opt
    family = registry.family_of(spec.runtime)
    wrapper = env_vars.exec_wrapper(spec.environment)
    if wrapper and not namespaces:
        wrapper = _host_path(wrapper, paths, spec.code_dir, opt)
    argv: tuple[str, ...] | None = None
    missing = ""
    sys_path: tuple[str, ...] = ()
    if family == "python":
        sys_path = (
            paths.task_root,
            f"{opt_dir}/python",
            f"{opt_dir}/python/lib/python{python_version}/site-packages",
        )
        if wrapper:
            argv = (wrapper, python_cmd, "-m", "nimbus.runtimes.python.standalone")
    elif family == "nodejs":
        argv = (node or "node", f"{paths.runtime_dir}/{NODE_CLIENT}")
        if wrapper:
            argv = (wrapper, *argv)
    else:
        entry = _bootstrap(spec.code_dir, opt)
        if entry is None:
            missing = "Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]"
            argv = ("/var/task/bootstrap",)
        else:
            inside = (
                "/var/task/bootstrap" if entry.parent == spec.code_dir else f"{opt_dir}/bootstrap"
            )
            argv = (str(entry) if not namespaces else inside,)
        if wrapper:
            argv = (wrapper, *argv)
    return LaunchPlan(
        paths=paths,
        argv=argv,
        sys_path=sys_path,
        sys_path_tail=(boto_inside,) if boto_path is not None else (),
        binds=tuple(binds),
        missing_entrypoint=missing,
    )


def sandbox_config(
    spec: EnvironmentSpec,
    plan: LaunchPlan,
    *,
    env_id: str,
    isolation: str,
    environ: dict[str, str],
    uid: int | None,
    root_dir: Path,
    cgroup_procs: tuple[str, ...] = (),
) -> SandboxConfig:
    """The message the zygote builds the sandbox from (``uid`` None: the host's own)."""
    return SandboxConfig(
        env_id=env_id,
        isolation=isolation,
        environ=environ,
        workdir=plan.paths.task_root,
        argv=plan.argv,
        handler=spec.handler,
        sys_path=plan.sys_path,
        sys_path_tail=plan.sys_path_tail,
        uid=uid or 0,
        gid=uid or 0,
        root_dir=str(root_dir),
        binds=plan.binds,
        tmp_mb=spec.ephemeral_storage_mb,
        cgroup_procs=cgroup_procs,
        memory_mb=spec.memory_mb,
        hostname="localhost",
    )


def _bootstrap(code_dir: Path, opt: Path | None) -> Path | None:
    """AWS looks for /var/task/bootstrap, then /opt/bootstrap; it must be executable."""
    candidates: list[Path] = [code_dir / "bootstrap"]
    if opt is not None:
        candidates.append(opt / "bootstrap")
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def _host_path(path: str, paths: env_vars.Paths, code_dir: Path, opt: Path | None) -> str:
    """In process isolation there is no /var/task or /opt: map them to the real dirs."""
    if path.startswith("/var/task/"):
        return str(code_dir / path.removeprefix("/var/task/"))
    if path.startswith("/opt/") and opt is not None:
        return str(opt / path.removeprefix("/opt/"))
    return str(path)
