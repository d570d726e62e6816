"""When an environment's execution-role credentials are too old to serve (pure).

AWS puts the role's temporary credentials into an environment's variables once, at its
start, and never refreshes them inside it: code reads AWS_ACCESS_KEY_ID and friends whenever
it likes. Lambda instead replaces environments before their credentials lapse (execution
environments live hours at most; the "Security Overview of AWS Lambda" whitepaper gives a
worker lease of 14 h). Nimbus does the same: an environment is given an invocation only while
its credentials outlast that invocation — the function's timeout — plus a margin for a
call signed at its very end; past that it is retired and a new one (with new credentials)
starts on demand, or at once for provisioned concurrency.
"""

from __future__ import annotations

# Six hours: AWS does not document the lifetime of an environment's credentials; STS role
# sessions run from 15 min to 12 h, and environments older than a few hours are rare on AWS.
DEFAULT_TTL_S = 6 * 3600.0
MIN_TTL_S = 900.0  # STS's shortest role session (AssumeRole DurationSeconds minimum)
MARGIN_S = 300.0  # SigV4 tolerates 5 min of clock skew; a request signed late still lands


def usable(
    expires_at: float | None, *, now: float, timeout_s: float, margin_s: float = MARGIN_S
) -> bool:
    """Whether an environment whose credentials expire at ``expires_at`` (epoch seconds;
    None: it has none) may take an invocation of up to ``timeout_s`` starting ``now``."""
    return expires_at is None or expires_at - now > timeout_s + margin_s
