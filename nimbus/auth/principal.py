"""Who a request is from, once its signature has been checked (frozen values)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

PrincipalKind = Literal["root", "user", "assumed-role", "service", "anonymous"]


@dataclass(frozen=True, kw_only=True)
class Principal:
    """An authenticated caller, as IAM names it.

    - ``root``: the account itself (Nimbus's administrator keys), ``arn:aws:iam::<acct>:root``;
      like AWS's root user, allowed everything.
    - ``user``: an IAM user, ``arn:aws:iam::<acct>:user/<path><name>``.
    - ``assumed-role``: a role session (AssumeRole, or a function's execution role),
      ``arn:aws:sts::<acct>:assumed-role/<role>/<session>``; its permissions are the role's,
      capped by its session policy when it has one.
    - ``service``: Nimbus acting for itself (an event source mapping reading a queue, the
      code-download URL); never the result of a signature.
    - ``anonymous``: an unsigned caller where AWS lets one in (a function URL with AuthType
      NONE): only a resource policy naming ``"*"`` can allow it anything.
    """

    kind: PrincipalKind
    arn: str
    account: str
    name: str  # user name, role name, "" for root
    user_id: str  # GetCallerIdentity's UserId: AIDA... for users, AROA...:<session> for roles
    access_key_id: str = ""
    session_name: str = ""
    # An assumed role's ARN (arn:aws:iam::<acct>:role/<path><name>); "" for the others.
    role_arn: str = ""
    # The session policy a role session was created with (AssumeRole's ``Policy``, as JSON
    # text, carried in its session token), or None. The session may do only what both its
    # role's policies and this allow (IAM User Guide, "Session policies"); the Authorizer
    # passes it to ``policy.evaluate(session=...)``.
    session_policy: str | None = None

    @property
    def is_root(self) -> bool:
        return self.kind == "root"


ANONYMOUS = "anonymous"


def anonymous() -> Principal:
    """The unsigned caller of a NONE function URL."""
    return Principal(kind="anonymous", arn=ANONYMOUS, account="", name="", user_id=ANONYMOUS)


def service(name: str) -> Principal:
    """An AWS service principal (``apigateway.amazonaws.com``) Nimbus acts as."""
    return Principal(kind="service", arn=name, account="", name=name, user_id=name)


def root(account: str, access_key_id: str = "") -> Principal:
    return Principal(
        kind="root",
        arn=f"arn:aws:iam::{account}:root",
        account=account,
        name="",
        user_id=account,
        access_key_id=access_key_id,
    )


def role_session(
    role_arn: str,
    session_name: str,
    *,
    role_id: str,
    access_key_id: str = "",
    session_policy: str | None = None,
) -> Principal:
    """The principal of a session of ``role_arn`` (``arn:aws:iam::<acct>:role/<path><name>``),
    created with ``session_policy`` (JSON text) if any."""
    account = role_arn.split(":")[4]
    role_name = role_arn.rsplit("/", 1)[-1]
    return Principal(
        kind="assumed-role",
        arn=f"arn:aws:sts::{account}:assumed-role/{role_name}/{session_name}",
        account=account,
        name=role_name,
        user_id=f"{role_id}:{session_name}",
        access_key_id=access_key_id,
        session_name=session_name,
        role_arn=role_arn,
        session_policy=session_policy,
    )
