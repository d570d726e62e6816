"""The environment variables Lambda sets in every execution environment (pure).

Reserved names (AWS's list) cannot be overridden by the function's own variables; the rest of
the defaults (PATH, LANG, TZ, ...) can, as on AWS.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from nimbus.model.function import RESERVED_ENV
from nimbus.model.invocation import EnvironmentSpec


@dataclass(frozen=True, kw_only=True)
class Paths:
    """Where things are as the function sees them (differs in ``process`` isolation)."""

    task_root: str = "/var/task"
    opt: str = "/opt"
    runtime_dir: str = "/var/runtime"
    lang_bin: str = "/var/lang/bin"


def execution_env(runtime: str) -> str:
    return f"AWS_Lambda_{runtime}"


def build(
    spec: EnvironmentSpec,
    *,
    runtime_api: str,
    log_stream: str,
    paths: Paths,
    python_version: str,
) -> dict[str, str]:
    opt = paths.opt
    defaults = {
        "PATH": f"{paths.lang_bin}:/usr/local/bin:/usr/bin/:/bin:{opt}/bin",
        "LD_LIBRARY_PATH": (
            f"/var/lang/lib:/lib64:/usr/lib64:{paths.runtime_dir}:{paths.runtime_dir}/lib:"
            f"{paths.task_root}:{paths.task_root}/lib:{opt}/lib"
        ),
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "PYTHONPATH": f"{paths.runtime_dir}",
        "NODE_PATH": (
            f"{opt}/nodejs/node20/node_modules:{opt}/nodejs/node_modules:"
            f"/var/runtime/node_modules:/var/runtime:/var/task"
        ),
    }
    if spec.runtime.startswith("python"):
        # Lambda's python runtimes have PYTHONPATH=/var/runtime; layers are added by the
        # runtime client (sys.path), so a subprocess python finds them too through this.
        defaults["PYTHONPATH"] = (
            f"{paths.runtime_dir}:{opt}/python:{opt}/python/lib/python{python_version}/site-packages"
        )
    reserved = {
        "AWS_LAMBDA_FUNCTION_NAME": spec.function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": spec.function_version,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
        "AWS_LAMBDA_LOG_GROUP_NAME": spec.log_group,
        "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
        "AWS_LAMBDA_INITIALIZATION_TYPE": spec.initialization_type,
        "AWS_REGION": spec.region,
        "AWS_DEFAULT_REGION": spec.region,
        "AWS_EXECUTION_ENV": execution_env(spec.runtime),
        "_HANDLER": spec.handler,
        "LAMBDA_TASK_ROOT": paths.task_root,
        "LAMBDA_RUNTIME_DIR": paths.runtime_dir,
        "AWS_LAMBDA_RUNTIME_API": runtime_api,
        **credentials(spec),
    }
    if spec.endpoint_url:
        defaults["AWS_ENDPOINT_URL"] = spec.endpoint_url
    user = {k: v for k, v in spec.environment.items() if k not in RESERVED_ENV}
    return {**defaults, **user, **reserved}


def credentials(spec: EnvironmentSpec) -> dict[str, str]:
    """The execution role's temporary credentials, as AWS sets them in every environment.
    The data plane mints them per environment (dataplane/execution_role.py); a spec made
    without it (a bare worker host in tests) gets inert ones no Nimbus accepts."""
    creds = spec.credentials
    if creds is None:
        return {
            "AWS_ACCESS_KEY_ID": "ASIANIMBUSNOCREDENTIALS",
            "AWS_SECRET_ACCESS_KEY": "none",
            "AWS_SESSION_TOKEN": "none",
        }
    return {
        "AWS_ACCESS_KEY_ID": creds.access_key_id,
        "AWS_SECRET_ACCESS_KEY": creds.secret_access_key,
        "AWS_SESSION_TOKEN": creds.session_token,
    }


def exec_wrapper(environment: Mapping[str, str]) -> str | None:
    """AWS_LAMBDA_EXEC_WRAPPER: a script run with the runtime's command as its arguments."""
    value = environment.get("AWS_LAMBDA_EXEC_WRAPPER", "").strip()
    return value or None
