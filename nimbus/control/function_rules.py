"""Pure validation of a function's code and configuration, with AWS's error types and
messages (CreateFunction, UpdateFunctionCode, UpdateFunctionConfiguration): the layer
version ARNs it references, the RevisionId precondition, and the unzipped size of its code
with its layers. That the layers exist is checked by the layers service."""

from __future__ import annotations

import re
from collections.abc import Sequence

from nimbus.control import validation
from nimbus.errors import InvalidParameterValueError, PreconditionFailedError
from nimbus.model.function import FunctionConfig

LAYER_ARN_RE = re.compile(
    r"^arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+$"
)
MAX_LAYERS = 5


def check_layer_arns(arns: Sequence[str]) -> None:
    """At most ``MAX_LAYERS`` well-formed layer version ARNs, no two of the same layer."""
    if len(arns) > MAX_LAYERS:
        raise InvalidParameterValueError(
            f"Cannot reference more than {MAX_LAYERS} layers; this request lists {len(arns)}."
        )
    for arn in arns:
        if not isinstance(arn, str) or not LAYER_ARN_RE.match(arn):
            raise InvalidParameterValueError(
                f"Layer version ARN '{arn}' is not valid: expected "
                "arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION."
            )
    layer_names = [arn.rsplit(":", 1)[0] for arn in arns]
    if len(set(layer_names)) != len(layer_names):
        raise InvalidParameterValueError(
            "Two different versions of the same layer are not allowed to be referenced "
            "in the same function."
        )


def check_revision(current: FunctionConfig, revision_id: str | None) -> None:
    if revision_id is not None and revision_id != current.revision_id:
        raise PreconditionFailedError(
            "The Revision Id provided does not match the latest Revision Id. Call the "
            "GetFunction/GetAlias API to retrieve the latest Revision Id",
        )


def layers_size(config: FunctionConfig) -> int:
    return sum(layer.unzipped_size for layer in config.layers)


def check_total_size(code_unzipped: int, layers_unzipped: int) -> None:
    if code_unzipped + layers_unzipped > validation.MAX_UNZIPPED_BYTES:
        raise InvalidParameterValueError(
            "Function code combined with layers exceeds the maximum allowed size of "
            f"{validation.MAX_UNZIPPED_BYTES} bytes. The actual size is "
            f"{code_unzipped + layers_unzipped} bytes."
        )
