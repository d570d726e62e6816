"""``IdentityDirectory``: who an access key is (long-term keys from the store, temporary
ones from their session token alone), what policies apply to them, and how quickly IAM's
writes reach authentication."""

from __future__ import annotations

import json

import pytest

from nimbus.auth.errors import ExpiredTokenError
from nimbus.auth.principal import Principal
from tests.unit.iam.iam_support import ACCOUNT, Iam

ALLOW_LIST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "lambda:ListFunctions", "Resource": "*"}],
    }
)
TRUST_ACCOUNT = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


# --- Long-term keys -----------------------------------------------------------------------


async def test_a_users_key_resolves_to_its_secret_and_the_user(iam: Iam) -> None:
    user = await iam.identities.create_user("alice", path="/eng/")
    key, secret = await iam.identities.create_access_key("alice")

    found = await iam.directory.resolve(key.access_key_id, None)

    assert found is not None
    assert found.secret == secret
    assert found.principal == Principal(
        kind="user",
        arn=f"arn:aws:iam::{ACCOUNT}:user/eng/alice",
        account=ACCOUNT,
        name="alice",
        user_id=user.user_id,
        access_key_id=key.access_key_id,
    )


async def test_a_key_of_no_user_is_the_accounts_root(iam: Iam) -> None:
    key, secret = await iam.identities.create_access_key(None)
    found = await iam.directory.resolve(key.access_key_id, None)
    assert found is not None and found.secret == secret
    assert found.principal.is_root
    assert found.principal.arn == f"arn:aws:iam::{ACCOUNT}:root"


async def test_an_unknown_key_resolves_to_nothing(iam: Iam) -> None:
    assert await iam.directory.resolve("AKIAUNKNOWNUNKNOWN00", None) is None


async def test_a_long_term_key_sent_with_a_session_token_resolves_to_nothing(iam: Iam) -> None:
    key, _ = await iam.identities.create_access_key(None)
    assert await iam.directory.resolve(key.access_key_id, "some-token") is None


async def test_an_inactive_key_resolves_to_nothing_at_once_and_active_again_works(
    iam: Iam,
) -> None:
    await iam.identities.create_user("bob")
    key, _ = await iam.identities.create_access_key("bob")
    assert await iam.directory.resolve(key.access_key_id, None) is not None  # now cached

    await iam.identities.update_access_key(key.access_key_id, "Inactive", "bob")
    assert await iam.directory.resolve(key.access_key_id, None) is None

    await iam.identities.update_access_key(key.access_key_id, "Active", "bob")
    assert await iam.directory.resolve(key.access_key_id, None) is not None


async def test_a_deleted_key_or_user_resolves_to_nothing_at_once(iam: Iam) -> None:
    await iam.identities.create_user("carol")
    key, _ = await iam.identities.create_access_key("carol")
    assert await iam.directory.resolve(key.access_key_id, None) is not None
    await iam.identities.delete_access_key(key.access_key_id, "carol")
    assert await iam.directory.resolve(key.access_key_id, None) is None


async def test_a_key_created_after_a_failed_lookup_works_at_once(iam: Iam) -> None:
    # A miss is cached too; creating a key must not wait for it to lapse.
    await iam.identities.put_root_key("AKIAEXAMPLEROOTKEY00", "s" * 40)
    await iam.identities.delete_access_key("AKIAEXAMPLEROOTKEY00", None)
    assert await iam.directory.resolve("AKIAEXAMPLEROOTKEY00", None) is None
    await iam.identities.put_root_key("AKIAEXAMPLEROOTKEY00", "t" * 40)
    found = await iam.directory.resolve("AKIAEXAMPLEROOTKEY00", None)
    assert found is not None and found.secret == "t" * 40


async def test_a_write_made_elsewhere_reaches_this_directory_within_a_second(iam: Iam) -> None:
    # Another node deactivating the key writes the store only: no change is heard here.
    await iam.identities.create_user("dave")
    key, _ = await iam.identities.create_access_key("dave")
    assert await iam.directory.resolve(key.access_key_id, None) is not None

    await iam.repo.set_key_status(key.access_key_id, "Inactive")
    iam.clock.advance(0.5)
    assert await iam.directory.resolve(key.access_key_id, None) is not None  # still cached
    iam.clock.advance(0.6)
    assert await iam.directory.resolve(key.access_key_id, None) is None


async def test_a_keys_last_use_is_recorded_at_most_once_a_minute(iam: Iam) -> None:
    await iam.identities.create_user("erin")
    key, _ = await iam.identities.create_access_key("erin")
    assert (await iam.identities.access_key_last_used(key.access_key_id)).last_used_at is None

    first = iam.clock.now()
    await iam.directory.resolve(key.access_key_id, None)
    assert (await iam.identities.access_key_last_used(key.access_key_id)).last_used_at == first

    iam.clock.advance(30)
    await iam.directory.resolve(key.access_key_id, None)
    assert (await iam.identities.access_key_last_used(key.access_key_id)).last_used_at == first

    iam.clock.advance(31)
    await iam.directory.resolve(key.access_key_id, None)
    used = (await iam.identities.access_key_last_used(key.access_key_id)).last_used_at
    assert used == iam.clock.now()


# --- Temporary keys -------------------------------------------------------------------------


async def test_a_temporary_key_resolves_with_its_token_to_the_roles_session(iam: Iam) -> None:
    role = await iam.identities.create_role("builder", TRUST_ACCOUNT)
    creds = await iam.directory.issue(role.arn, "build-7", duration_s=900)
    assert creds.access_key_id.startswith("ASIA") and len(creds.access_key_id) == 20

    found = await iam.directory.resolve(creds.access_key_id, creds.session_token)

    assert found is not None and found.secret == creds.secret_access_key
    assert found.principal.kind == "assumed-role"
    assert found.principal.arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/builder/build-7"
    assert found.principal.role_arn == role.arn
    assert found.principal.user_id == f"{role.role_id}:build-7"


async def test_a_temporary_key_without_its_own_token_resolves_to_nothing(iam: Iam) -> None:
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/any"
    one = await iam.directory.issue(role_arn, "one", duration_s=900)
    two = await iam.directory.issue(role_arn, "two", duration_s=900)
    assert await iam.directory.resolve(one.access_key_id, None) is None
    assert await iam.directory.resolve(one.access_key_id, two.session_token) is None
    assert await iam.directory.resolve(one.access_key_id, one.session_token[:-2] + "xx") is None


async def test_a_temporary_key_past_its_expiry_is_expired(iam: Iam) -> None:
    creds = await iam.directory.issue(f"arn:aws:iam::{ACCOUNT}:role/r", "s", duration_s=900)
    iam.clock.advance(899)
    assert await iam.directory.resolve(creds.access_key_id, creds.session_token) is not None
    iam.clock.advance(1)
    with pytest.raises(ExpiredTokenError):
        await iam.directory.resolve(creds.access_key_id, creds.session_token)


async def test_a_session_of_a_role_iam_does_not_know_gets_a_stable_role_id(iam: Iam) -> None:
    arn = f"arn:aws:iam::{ACCOUNT}:role/not-yet"
    first = await iam.directory.issue(arn, "a", duration_s=900)
    second = await iam.directory.issue(arn, "a", duration_s=900)
    one = await iam.directory.resolve(first.access_key_id, first.session_token)
    two = await iam.directory.resolve(second.access_key_id, second.session_token)
    assert one is not None and two is not None
    assert one.principal.user_id == two.principal.user_id
    assert one.principal.user_id.startswith("AROA") and one.principal.user_id.endswith(":a")


# --- Identity policies ----------------------------------------------------------------------


async def test_a_users_policies_are_its_inline_and_attached_ones(iam: Iam) -> None:
    await iam.identities.create_user("frank")
    key, _ = await iam.identities.create_access_key("frank")
    found = await iam.directory.resolve(key.access_key_id, None)
    assert found is not None
    assert await iam.directory.identity_policies(found.principal) == []

    await iam.policies.put_inline("user", "frank", "inline", ALLOW_LIST)
    managed = await iam.policies.create_policy("managed", ALLOW_LIST.replace("List", "Get"))
    await iam.policies.attach("user", "frank", managed.arn)

    documents = await iam.directory.identity_policies(found.principal)
    actions = sorted(d["Statement"][0]["Action"] for d in documents)
    assert actions == ["lambda:GetFunctions", "lambda:ListFunctions"]


async def test_a_deleted_and_recreated_role_gives_its_old_sessions_nothing(iam: Iam) -> None:
    await iam.identities.create_role("ops", TRUST_ACCOUNT, path="/a/")
    await iam.policies.put_inline("role", "ops", "p", ALLOW_LIST)
    creds = await iam.directory.issue(f"arn:aws:iam::{ACCOUNT}:role/a/ops", "s", duration_s=900)
    found = await iam.directory.resolve(creds.access_key_id, creds.session_token)
    assert found is not None
    assert len(await iam.directory.identity_policies(found.principal)) == 1

    await iam.policies.delete_inline("role", "ops", "p")
    await iam.identities.delete_role("ops")
    await iam.identities.create_role("ops", TRUST_ACCOUNT, path="/b/")
    await iam.policies.put_inline("role", "ops", "p", ALLOW_LIST)
    assert await iam.directory.identity_policies(found.principal) == []


async def test_a_principal_of_another_account_has_no_policies_here(iam: Iam) -> None:
    await iam.identities.create_user("grace")
    await iam.policies.put_inline("user", "grace", "p", ALLOW_LIST)
    stranger = Principal(
        kind="user",
        arn="arn:aws:iam::999999999999:user/grace",
        account="999999999999",
        name="grace",
        user_id="AIDAEXAMPLEEXAMPLE00",
    )
    assert await iam.directory.identity_policies(stranger) == []


async def test_a_named_user_or_role_is_authorized_under_its_real_path(iam: Iam) -> None:
    await iam.identities.create_user("carol", path="/eng/")
    await iam.identities.create_role("boss", TRUST_ACCOUNT, path="/admins/")
    at_root = f"arn:aws:iam::{ACCOUNT}:"
    assert await iam.directory.canonical_arn(at_root + "user/carol") == at_root + "user/eng/carol"
    assert await iam.directory.canonical_arn(at_root + "role/boss") == at_root + "role/admins/boss"
    # Unknown names, other accounts and anything else come back as given.
    assert await iam.directory.canonical_arn(at_root + "role/ghost") == at_root + "role/ghost"
    other = "arn:aws:iam::999999999999:role/boss"
    assert await iam.directory.canonical_arn(other) == other
    policy = at_root + "policy/boss"
    assert await iam.directory.canonical_arn(policy) == policy


async def test_a_burst_finding_a_key_uncached_reads_it_from_the_store_once(
    iam: Iam, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    await iam.identities.create_user("burst")
    key, secret = await iam.identities.create_access_key("burst")
    reads = 0
    get_key = iam.repo.get_key

    async def counting(access_key_id: str) -> object:
        nonlocal reads
        reads += 1
        return await get_key(access_key_id)

    monkeypatch.setattr(iam.repo, "get_key", counting)
    found = await asyncio.gather(
        *(iam.directory.resolve(key.access_key_id, None) for _ in range(50))
    )
    assert {f.secret for f in found if f is not None} == {secret}
    assert reads == 1
