"""STS's API subset over the query protocol (botocore ``sts/2011-06-15``): AssumeRole and
GetCallerIdentity, XML answers in STS's namespace."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nimbus.auth.principal import Principal
from nimbus.errors import InvalidActionError
from nimbus.frontend import query_form as q
from nimbus.iam.sts import Sts, caller_identity

XMLNS = "https://sts.amazonaws.com/doc/2011-06-15/"
Handler = Callable[[q.Form, Principal, str | None], Awaitable[str]]


class StsApi:
    def __init__(self, *, sts: Sts) -> None:
        self._sts = sts
        self.operations: dict[str, Handler] = {
            "AssumeRole": self._assume_role,
            "GetCallerIdentity": self._get_caller_identity,
        }

    async def call(
        self,
        action: str,
        form: q.Form,
        caller: Principal,
        request_id: str,
        *,
        source_ip: str | None = None,
    ) -> str:
        handler = self.operations.get(action)
        if handler is None:
            raise InvalidActionError(f"The action {action} is not valid for this endpoint.")
        return q.response(action, XMLNS, await handler(form, caller, source_ip), request_id)

    async def _get_caller_identity(
        self, form: q.Form, caller: Principal, source_ip: str | None
    ) -> str:
        who = caller_identity(caller)
        return q.tag("UserId", who.user_id) + q.tag("Account", who.account) + q.tag("Arn", who.arn)

    async def _assume_role(self, form: q.Form, caller: Principal, source_ip: str | None) -> str:
        assumed = await self._sts.assume_role(
            caller,
            q.required(form, "RoleArn"),
            q.required(form, "RoleSessionName"),
            duration_s=q.integer(form, "DurationSeconds"),
            external_id=form.get("ExternalId"),
            policy=form.get("Policy"),
            source_ip=source_ip,
        )
        c = assumed.credentials
        return (
            "<Credentials>"
            + q.tag("AccessKeyId", c.access_key_id)
            + q.tag("SecretAccessKey", c.secret_access_key)
            + q.tag("SessionToken", c.session_token)
            + q.date("Expiration", c.expiration)
            + "</Credentials><AssumedRoleUser>"
            + q.tag("AssumedRoleId", assumed.assumed_role_id)
            + q.tag("Arn", assumed.arn)
            + "</AssumedRoleUser>"
            + q.tag("PackedPolicySize", assumed.packed_policy_size)
        )


OPERATIONS = frozenset({"AssumeRole", "GetCallerIdentity"})
