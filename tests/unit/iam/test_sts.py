"""``iam.sts``: AssumeRole's duration rules and trust decisions, with IAM over a real store
and a manual clock."""

from __future__ import annotations

import json
from typing import Any

import pytest

from nimbus.auth.principal import Principal, root
from nimbus.iam.errors import IamValidationError, PackedPolicyTooLargeError, StsAccessDeniedError
from nimbus.iam.sts import caller_identity
from tests.unit.iam.iam_support import ACCOUNT, Iam


def _trust(principal: dict[str, Any], condition: dict[str, Any] | None = None) -> str:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": principal,
        "Action": "sts:AssumeRole",
    }
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


ALLOW_ASSUME = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}],
    }
)


async def _user(iam: Iam, name: str, policy: str | None = None) -> Principal:
    await iam.identities.create_user(name)
    if policy is not None:
        await iam.policies.put_inline("user", name, "p", policy)
    key, _ = await iam.identities.create_access_key(name)
    found = await iam.directory.resolve(key.access_key_id, None)
    assert found is not None
    return found.principal


def _user_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:user/{name}"


# --- DurationSeconds ------------------------------------------------------------------------


@pytest.fixture
async def alice(iam: Iam) -> Principal:
    return await _user(iam, "alice")


async def _role(iam: Iam, name: str, trusted: str, **extra: Any) -> str:
    role = await iam.identities.create_role(name, _trust({"AWS": trusted}), **extra)
    return role.arn


async def test_a_session_lasts_an_hour_unless_asked_otherwise(iam: Iam, alice: Principal) -> None:
    arn = await _role(iam, "r", _user_arn("alice"))
    assumed = await iam.sts.assume_role(alice, arn, "s1")
    assert assumed.credentials.expiration == int(iam.clock.now()) + 3600
    short = await iam.sts.assume_role(alice, arn, "s2", duration_s=900)
    assert short.credentials.expiration == int(iam.clock.now()) + 900


@pytest.mark.parametrize(
    ("duration", "bound"),
    [(899, "greater than or equal to 900"), (43201, "less than or equal to 43200")],
)
async def test_a_duration_outside_900_to_43200_is_invalid(
    iam: Iam, alice: Principal, duration: int, bound: str
) -> None:
    arn = await _role(iam, "r", _user_arn("alice"), max_session_s=43200)
    with pytest.raises(IamValidationError) as caught:
        await iam.sts.assume_role(alice, arn, "ss", duration_s=duration)
    assert caught.value.message == (
        f"1 validation error detected: Value '{duration}' at 'durationSeconds' failed to "
        f"satisfy constraint: Member must have value {bound}"
    )


async def test_a_duration_is_capped_by_the_roles_max_session_duration(
    iam: Iam, alice: Principal
) -> None:
    arn = await _role(iam, "r", _user_arn("alice"), max_session_s=7200)
    ok = await iam.sts.assume_role(alice, arn, "ss", duration_s=7200)
    assert ok.credentials.expiration == int(iam.clock.now()) + 7200
    with pytest.raises(IamValidationError) as caught:
        await iam.sts.assume_role(alice, arn, "ss", duration_s=7201)
    assert caught.value.message == (
        "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
    )


async def test_a_chained_session_lasts_at_most_an_hour(iam: Iam, alice: Principal) -> None:
    first = await _role(iam, "first", _user_arn("alice"), max_session_s=43200)
    await iam.policies.put_inline("role", "first", "p", ALLOW_ASSUME)
    second = await _role(iam, "second", first, max_session_s=43200)
    creds = (await iam.sts.assume_role(alice, first, "aa", duration_s=43200)).credentials
    found = await iam.directory.resolve(creds.access_key_id, creds.session_token)
    assert found is not None
    session = found.principal

    hop = await iam.sts.assume_role(session, second, "bb", duration_s=3600)
    assert hop.arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/second/bb"
    with pytest.raises(IamValidationError) as caught:
        await iam.sts.assume_role(session, second, "bb", duration_s=3601)
    assert "1 hour session limit for roles assumed by role chaining" in caught.value.message


# --- Who may assume -------------------------------------------------------------------------


async def test_the_root_user_may_not_assume_roles(iam: Iam) -> None:
    arn = await _role(iam, "r", f"arn:aws:iam::{ACCOUNT}:root")
    with pytest.raises(StsAccessDeniedError) as caught:
        await iam.sts.assume_role(root(ACCOUNT), arn, "ss")
    assert caught.value.message == "Roles may not be assumed by root accounts."


async def test_a_trust_naming_the_user_needs_no_identity_policy(iam: Iam, alice: Principal) -> None:
    arn = await _role(iam, "r", _user_arn("alice"))
    assumed = await iam.sts.assume_role(alice, arn, "ok")
    assert assumed.assumed_role_id.endswith(":ok")


async def test_a_trust_naming_the_account_needs_the_callers_permission(iam: Iam) -> None:
    arn = await _role(iam, "r", f"arn:aws:iam::{ACCOUNT}:root")
    without = await _user(iam, "without")
    with pytest.raises(StsAccessDeniedError):
        await iam.sts.assume_role(without, arn, "no")
    allowed = await _user(iam, "allowed", ALLOW_ASSUME)
    assert (await iam.sts.assume_role(allowed, arn, "yes")).arn.endswith("/r/yes")


async def test_a_trust_naming_someone_else_denies_whatever_the_caller_may_do(iam: Iam) -> None:
    # Trust policies are the exception to "within an account either policy suffices".
    await _user(iam, "trusted")
    arn = await _role(iam, "r", _user_arn("trusted"))
    mallory = await _user(iam, "mallory", ALLOW_ASSUME)
    with pytest.raises(StsAccessDeniedError) as caught:
        await iam.sts.assume_role(mallory, arn, "ss")
    assert caught.value.message == (
        f"User: {_user_arn('mallory')} is not authorized to perform: sts:AssumeRole on "
        f"resource: {arn}"
    )


async def test_a_role_of_another_account_or_none_at_all_is_denied_alike(
    iam: Iam, alice: Principal
) -> None:
    for arn in ("arn:aws:iam::999999999999:role/r", f"arn:aws:iam::{ACCOUNT}:role/missing"):
        with pytest.raises(StsAccessDeniedError) as caught:
            await iam.sts.assume_role(alice, arn, "ss")
        assert caught.value.message.endswith(f"sts:AssumeRole on resource: {arn}")


async def test_the_external_id_is_a_condition_key(iam: Iam, alice: Principal) -> None:
    role = await iam.identities.create_role(
        "partner",
        _trust({"AWS": _user_arn("alice")}, {"StringEquals": {"sts:ExternalId": "shared-secret"}}),
    )
    with pytest.raises(StsAccessDeniedError):
        await iam.sts.assume_role(alice, role.arn, "ss")
    with pytest.raises(StsAccessDeniedError):
        await iam.sts.assume_role(alice, role.arn, "ss", external_id="guess")
    assert await iam.sts.assume_role(alice, role.arn, "ss", external_id="shared-secret")


@pytest.mark.parametrize("name", ["x", "has space", "a" * 65])
async def test_a_bad_session_name_is_invalid(iam: Iam, alice: Principal, name: str) -> None:
    arn = await _role(iam, "r", _user_arn("alice"))
    with pytest.raises(IamValidationError) as caught:
        await iam.sts.assume_role(alice, arn, name)
    assert "at 'roleSessionName' failed to satisfy constraint" in caught.value.message


async def test_a_session_policy_is_kept_with_the_session_and_its_size_reported(
    iam: Iam, alice: Principal
) -> None:
    arn = await _role(iam, "r", _user_arn("alice"))
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
        }
    )
    assumed = await iam.sts.assume_role(alice, arn, "ss", policy=policy)
    assert assumed.packed_policy_size is not None and 1 <= assumed.packed_policy_size <= 100
    creds = assumed.credentials
    found = await iam.directory.resolve(creds.access_key_id, creds.session_token)
    assert found is not None
    assert found.principal.session_policy is not None
    assert json.loads(found.principal.session_policy) == json.loads(policy)
    plain = (await iam.sts.assume_role(alice, arn, "plain")).credentials
    unpolicied = await iam.directory.resolve(plain.access_key_id, plain.session_token)
    assert unpolicied is not None and unpolicied.principal.session_policy is None

    huge = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": f"s3:Get{'x' * 40}{i}", "Resource": "*"}
                for i in range(60)
            ],
        }
    )
    with pytest.raises(PackedPolicyTooLargeError) as caught:
        await iam.sts.assume_role(alice, arn, "ss", policy=huge)
    assert caught.value.message.startswith("Packed policy consumes ")


def test_caller_identity_is_the_principals_own() -> None:
    who = caller_identity(root(ACCOUNT))
    assert (who.user_id, who.account, who.arn) == (ACCOUNT, ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root")
