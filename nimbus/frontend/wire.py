"""Lambda's JSON wire shapes <-> Nimbus's domain values (botocore's service model)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from nimbus.control import validation
from nimbus.control.functions import ConfigChanges
from nimbus.errors import InvalidParameterValueError
from nimbus.model.arn import Arns
from nimbus.model.function import FunctionConfig


def json_response(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def function_configuration(config: FunctionConfig, arns: Arns) -> dict[str, Any]:
    body: dict[str, Any] = {
        "FunctionName": config.name,
        "FunctionArn": arns.function(config.name, config.version),
        "Runtime": config.runtime,
        "Role": config.role,
        "Handler": config.handler,
        "CodeSize": config.code_size,
        "Description": config.description,
        "Timeout": config.timeout,
        "MemorySize": config.memory_size,
        "LastModified": config.last_modified,
        "CodeSha256": config.code_sha256,
        "Version": config.version,
        "Environment": {"Variables": dict(config.environment)},
        "TracingConfig": {"Mode": config.tracing_mode},
        "RevisionId": config.revision_id,
        "State": config.state,
        "LastUpdateStatus": config.last_update_status,
        "PackageType": config.package_type,
        "Architectures": list(config.architectures),
        "EphemeralStorage": {"Size": config.ephemeral_storage},
        "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
        "LoggingConfig": {
            "LogFormat": config.log_format,
            "LogGroup": config.log_group or f"/aws/lambda/{config.name}",
        },
    }
    if config.version == "$LATEST":
        # AWS reports the unqualified ARN for $LATEST.
        body["FunctionArn"] = arns.function(config.name)
    if config.environment_error is not None:
        # AWS answers reads of a function whose variables it cannot decrypt this way.
        body["Environment"] = {
            "Error": {"ErrorCode": "KMSAccessDeniedException", "Message": config.environment_error}
        }
    elif not config.environment:
        del body["Environment"]
    if config.kms_key_arn:
        body["KMSKeyArn"] = config.kms_key_arn
    if config.signing_profile_version_arn:
        body["SigningProfileVersionArn"] = config.signing_profile_version_arn
    if config.layers:
        body["Layers"] = [
            {"Arn": layer.arn, "CodeSize": layer.code_size} for layer in config.layers
        ]
    if config.dead_letter_target:
        body["DeadLetterConfig"] = {"TargetArn": config.dead_letter_target}
    for key, value in (
        ("StateReason", config.state_reason),
        ("StateReasonCode", config.state_reason_code),
        ("LastUpdateStatusReason", config.last_update_status_reason),
        ("LastUpdateStatusReasonCode", config.last_update_status_reason_code),
    ):
        if value is not None:
            body[key] = value
    return body


def config_changes(body: dict[str, Any]) -> ConfigChanges:
    """Validate and collect the configuration fields a Create/UpdateFunction* body sets."""
    env = body.get("Environment")
    dlq = body.get("DeadLetterConfig")
    tracing = body.get("TracingConfig")
    layers = body.get("Layers")
    if layers is not None and not isinstance(layers, list):
        raise InvalidParameterValueError("Layers must be a list of layer version ARNs.")
    if dlq is not None and not isinstance(dlq, dict):
        raise InvalidParameterValueError("DeadLetterConfig must be an object with TargetArn.")
    if tracing is not None and (
        not isinstance(tracing, dict)
        or tracing.get("Mode", "PassThrough") not in ("Active", "PassThrough")
    ):
        raise InvalidParameterValueError("TracingConfig.Mode must be 'Active' or 'PassThrough'.")
    return ConfigChanges(
        runtime=body.get("Runtime"),
        handler=body.get("Handler"),
        handler_given="Handler" in body,
        role=validation.role(body["Role"]) if "Role" in body else None,
        description=(
            validation.string(body["Description"], "Description", max_len=256)
            if "Description" in body
            else None
        ),
        timeout=(
            validation.int_in_range(body["Timeout"], "Timeout", *validation.TIMEOUT_RANGE)
            if "Timeout" in body
            else None
        ),
        memory_size=(
            validation.int_in_range(body["MemorySize"], "MemorySize", *validation.MEMORY_RANGE)
            if "MemorySize" in body
            else None
        ),
        environment=validation.environment(env) if "Environment" in body else None,
        kms_key_arn=validation.kms_key_arn(body["KMSKeyArn"]) if "KMSKeyArn" in body else None,
        ephemeral_storage=(
            validation.ephemeral_storage(body["EphemeralStorage"])
            if "EphemeralStorage" in body
            else None
        ),
        layers=tuple(layers) if layers is not None else None,
        dead_letter_target=(str(dlq.get("TargetArn") or "") if dlq is not None else None),
        tracing_mode=(str(tracing.get("Mode", "PassThrough")) if tracing is not None else None),
        architectures=(
            validation.architectures(body["Architectures"]) if "Architectures" in body else None
        ),
    )
