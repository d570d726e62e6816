"""A function version's configuration: the immutable value the control plane stores and the
data plane runs. ``$LATEST`` is the mutable head; published versions are snapshots of it."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

LATEST = "$LATEST"

# Lambda sets these itself and refuses to let a function override them.
RESERVED_ENV = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    }
)


@dataclass(frozen=True, kw_only=True)
class LayerRef:
    arn: str  # layer version ARN
    code_size: int = 0  # zipped, as Layers[].CodeSize reports it
    unzipped_size: int = 0  # counts toward the 250 MB function + layers limit


@dataclass(frozen=True, kw_only=True)
class FunctionConfig:
    name: str
    version: str = LATEST
    runtime: str
    handler: str
    role: str
    code_blob: str  # hex sha256 of the zip in the blob store
    code_sha256: str  # base64 sha256, as AWS reports CodeSha256
    code_size: int
    code_size_unzipped: int = 0
    # The allowed signing profile version that signed this code (a function with a code
    # signing config; control/code_signing.py), reported as AWS reports it.
    signing_profile_version_arn: str | None = None
    description: str = ""
    timeout: int = 3
    memory_size: int = 128
    ephemeral_storage: int = 512
    # The function's variables: in memory only in clear (the store seals them, store/
    # functions.py), and never in a repr, so no log line or traceback can carry them.
    environment: Mapping[str, str] = field(default_factory=dict, repr=False)
    # Why the stored variables could not be opened (sealed under another node key), as
    # GetFunctionConfiguration's Environment.Error reports a KMS failure; None when they did.
    environment_error: str | None = None
    # Accepted and reported as AWS does; Nimbus seals variables with its node key either way.
    kms_key_arn: str | None = None
    architectures: tuple[str, ...] = ("x86_64",)
    layers: tuple[LayerRef, ...] = ()
    dead_letter_target: str | None = None
    tracing_mode: str = "PassThrough"
    log_format: str = "Text"
    log_group: str | None = None
    package_type: str = "Zip"
    last_modified: str = ""
    revision_id: str = ""
    state: str = "Pending"
    state_reason: str | None = None
    state_reason_code: str | None = None
    last_update_status: str = "Successful"
    last_update_status_reason: str | None = None
    last_update_status_reason_code: str | None = None

    def replace(self, **changes: Any) -> FunctionConfig:
        return dataclasses.replace(self, **changes)

    def to_record(self) -> dict[str, Any]:
        record = dataclasses.asdict(self)
        record["environment"] = dict(self.environment)
        return record

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> FunctionConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in record.items() if k in known}
        values["architectures"] = tuple(values.get("architectures", ("x86_64",)))
        values["layers"] = tuple(LayerRef(**layer) for layer in values.get("layers", ()))
        return cls(**values)

    @property
    def code_key(self) -> str:
        """Identity of what an environment runs: environments built from a different key are
        stale and get retired."""
        return f"{self.name}:{self.version}:{self.revision_id}"


@dataclass(frozen=True, kw_only=True)
class FunctionRecord:
    """The unversioned part of a function: tags and bookkeeping shared by all versions."""

    name: str
    tags: Mapping[str, str] = field(default_factory=dict)
    created_at: float = 0.0
    next_version: int = 1
