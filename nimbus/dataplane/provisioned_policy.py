"""Provisioned concurrency rules, as pure functions over numbers.

AWS's rules (Lambda developer guide, "Configuring provisioned concurrency"):
- a config applies to a published version or an alias, never to ``$LATEST``;
- a function's provisioned configs together may not exceed its reserved concurrency, or,
  without a reservation, the account's unreserved concurrency less the 100 that must stay
  unreserved;
- the status is ``IN_PROGRESS`` until every requested environment is initialised, then
  ``READY``; ``FAILED`` (with a reason) when allocation fails;
- Lambda replaces provisioned environments that die, and lowering the request retires the
  surplus.
"""

from __future__ import annotations

from typing import Literal

from nimbus.dataplane.counting_policy import MIN_UNRESERVED

Status = Literal["IN_PROGRESS", "READY", "FAILED"]

# GetProvisionedConcurrencyConfig's StatusReason when an environment's Init fails (what AWS
# reports, e.g. CloudFormation's "Provisioned Concurrency configuration failed to be applied.
# Reason: FUNCTION_ERROR_INIT_FAILURE").
INIT_FAILURE = "FUNCTION_ERROR_INIT_FAILURE"

# Environments started at once while filling: enough to fill quickly, few enough that a big
# request does not stall cold starts of other functions on the host.
FILL_BATCH = 8


def check_request(
    *, name: str, requested: int, others: int, reserved: int | None, unreserved_limit: int
) -> str | None:
    """AWS's InvalidParameterValueException message for a request it refuses, else None.
    ``others`` is the sum of the function's other provisioned configs."""
    if requested < 1:
        return "ProvisionedConcurrentExecutions must be at least 1."
    if reserved is not None:
        if others + requested > reserved:
            return (
                f"Requested Provisioned Concurrency should not be greater than the "
                f"reservedConcurrentExecution [{reserved}] for function {name}."
            )
        return None
    if others + requested > unreserved_limit - MIN_UNRESERVED:
        return (
            "Specified ConcurrentExecutions for function is greater than account's "
            "unreserved concurrency."
        )
    return None


def status(*, requested: int, allocated: int, failed: bool) -> Status:
    if failed:
        return "FAILED"
    return "READY" if allocated >= requested else "IN_PROGRESS"


def fill_batch(*, requested: int, allocated: int) -> int:
    """How many environments to start next; 0 when the request is met."""
    return max(0, min(requested - allocated, FILL_BATCH))


def surplus(*, requested: int, allocated: int) -> int:
    """How many environments to retire after the request was lowered."""
    return max(0, allocated - requested)
