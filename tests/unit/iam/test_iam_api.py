"""The IAM API's choices about *whose* keys an operation is on: a role session (a function's
execution role) has none of its own and must name the user — never acting on the account's
root keys — and GetAccessKeyLastUsed tells a key's owner only to who may see it."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from nimbus.auth.principal import Principal, role_session, root
from nimbus.frontend.iam_api import NOT_A_USER, IamApi
from nimbus.iam.errors import IamAccessDeniedError, IamValidationError
from tests.unit.iam.iam_support import ACCOUNT, Iam

ROLE = f"arn:aws:iam::{ACCOUNT}:role/fn-role"
SESSION = role_session(ROLE, "orders", role_id="AROAFNROLE")
ROOT = root(ACCOUNT)


class Grants:
    """An AccessCheck allowing exactly the (principal ARN, action, resource) triples given."""

    def __init__(self, *allowed: tuple[str, str, str]) -> None:
        self.allowed = set(allowed)

    async def allows(
        self,
        principal: Principal,
        action: str,
        resource: str,
        context: Mapping[str, object] | None = None,
    ) -> bool:
        return (principal.arn, action, resource) in self.allowed


def api(iam: Iam, access: Grants | None = None) -> IamApi:
    return IamApi(identities=iam.identities, policies=iam.policies, account=ACCOUNT, access=access)


async def _user(iam: Iam, name: str) -> Principal:
    user = await iam.identities.create_user(name)
    return Principal(kind="user", arn=user.arn, account=ACCOUNT, name=name, user_id=user.user_id)


@pytest.mark.parametrize(
    ("action", "form"),
    [
        ("CreateAccessKey", {}),
        ("ListAccessKeys", {}),
        ("UpdateAccessKey", {"AccessKeyId": "AKIAROOT", "Status": "Inactive"}),
        ("DeleteAccessKey", {"AccessKeyId": "AKIAROOT"}),
        ("GetUser", {}),
    ],
)
async def test_a_role_session_without_user_name_is_refused_not_given_root_keys(
    iam: Iam, action: str, form: dict[str, str]
) -> None:
    root_key, _ = await iam.identities.create_access_key(None)
    form = {k: root_key.access_key_id if v == "AKIAROOT" else v for k, v in form.items()}
    with pytest.raises(IamValidationError) as caught:
        await api(iam).call(action, form, SESSION, "req-1")
    assert caught.value.message == NOT_A_USER
    assert caught.value.status == 400 and caught.value.query_code == "ValidationError"
    keys = await iam.identities.list_access_keys(None)
    assert [(k.access_key_id, k.status) for k in keys] == [(root_key.access_key_id, "Active")]


async def test_root_and_users_default_to_their_own_keys(iam: Iam) -> None:
    await api(iam).call("CreateAccessKey", {}, ROOT, "req-1")
    assert len(await iam.identities.list_access_keys(None)) == 1
    alice = await _user(iam, "alice")
    body = await api(iam).call("CreateAccessKey", {}, alice, "req-2")
    assert "<UserName>alice</UserName>" in body
    assert len(await iam.identities.list_access_keys("alice")) == 1
    assert len(await iam.identities.list_access_keys(None)) == 1
    # A role session naming the user acts on that user.
    await api(iam).call("CreateAccessKey", {"UserName": "alice"}, SESSION, "req-3")
    assert len(await iam.identities.list_access_keys("alice")) == 2


async def test_a_keys_owner_is_named_only_to_the_owner_root_or_whoever_may_see_it(
    iam: Iam,
) -> None:
    alice = await _user(iam, "alice")
    bob = await _user(iam, "bob")
    key, _ = await iam.identities.create_access_key("alice")
    root_key, _ = await iam.identities.create_access_key(None)
    form = {"AccessKeyId": key.access_key_id}

    for caller in (alice, ROOT):
        assert "<UserName>alice</UserName>" in await api(iam).call(
            "GetAccessKeyLastUsed", form, caller, "r"
        )
    for caller, key_id in ((bob, key.access_key_id), (SESSION, root_key.access_key_id)):
        with pytest.raises(IamAccessDeniedError) as caught:
            await api(iam).call("GetAccessKeyLastUsed", {"AccessKeyId": key_id}, caller, "r")
        assert "alice" not in caught.value.message and caught.value.status == 403

    grants = Grants((bob.arn, "iam:GetAccessKeyLastUsed", alice.arn))
    assert "<UserName>alice</UserName>" in await api(iam, grants).call(
        "GetAccessKeyLastUsed", form, bob, "r"
    )
    with pytest.raises(IamAccessDeniedError):  # allowed on alice, not on the account's keys
        await api(iam, grants).call(
            "GetAccessKeyLastUsed", {"AccessKeyId": root_key.access_key_id}, bob, "r"
        )
