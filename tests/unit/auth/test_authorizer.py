"""The Authorizer over fake policy sources: decisions, the short-TTL cache and invalidation,
parsing once, and failing closed on a stored document that no longer parses."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from nimbus.auth.authorizer import Authorizer
from nimbus.auth.policy import Allow, ExplicitDeny, ImplicitDeny
from nimbus.auth.ports import AccessCheck
from nimbus.auth.principal import Principal, role_session, root
from nimbus.testing.clock import ManualClock
from nimbus.testing.policy_sources import FakeIdentityPolicies, FakeResourcePolicies

ACCT = "123456789012"
OTHER = "999988887777"
FN = f"arn:aws:lambda:us-east-1:{ACCT}:function:orders"
ROLE = f"arn:aws:iam::{ACCT}:role/orders-role"
APP = role_session(ROLE, "orders", role_id="AROAORDERS")
BOB = Principal(
    kind="user", arn=f"arn:aws:iam::{ACCT}:user/bob", account=ACCT, name="bob", user_id="AIDABOB"
)
EVE = Principal(
    kind="user", arn=f"arn:aws:iam::{OTHER}:user/eve", account=OTHER, name="eve", user_id="AIDAEVE"
)


def allow(action: str, resource: str = "*") -> dict[str, object]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}],
    }


def setup(
    identities: Mapping[str, Sequence[Mapping[str, object]]] | None = None,
    resources: Mapping[str, Mapping[str, object]] | None = None,
) -> tuple[Authorizer, FakeIdentityPolicies, FakeResourcePolicies, ManualClock]:
    ids = FakeIdentityPolicies({arn: list(docs) for arn, docs in (identities or {}).items()})
    res = FakeResourcePolicies(dict(resources or {}))
    clock = ManualClock()
    return Authorizer(ids, res, clock=clock), ids, res, clock


async def test_a_role_allowed_only_one_action_on_itself_is_denied_everything_else() -> None:
    auth, *_ = setup({ROLE: [allow("lambda:GetFunctionConfiguration", FN)]})
    assert await auth.allows(APP, "lambda:GetFunctionConfiguration", FN)
    assert not await auth.allows(APP, "lambda:GetFunction", FN)
    assert not await auth.allows(APP, "lambda:DeleteFunction", FN)
    other = FN.replace("orders", "payments")
    assert not await auth.allows(APP, "lambda:GetFunctionConfiguration", other)


async def test_decide_gives_the_reason() -> None:
    deny = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "NoDelete", "Effect": "Deny", "Action": "lambda:Delete*", "Resource": "*"}
        ],
    }
    auth, *_ = setup({BOB.arn: [allow("lambda:*"), deny]})
    assert await auth.decide(BOB, "lambda:GetFunction", FN) == Allow(via="identity")
    assert await auth.decide(BOB, "lambda:DeleteFunction", FN) == ExplicitDeny(
        sid="NoDelete", policy="identity"
    )


async def test_root_needs_no_policies_and_reads_none() -> None:
    auth, ids, res, _ = setup()
    assert await auth.decide(root(ACCT), "lambda:DeleteFunction", FN) == Allow(via="root")
    assert ids.reads == 0 and res.reads == 0


async def test_a_resource_policy_grants_a_cross_principal_call() -> None:
    grant = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": BOB.arn},
                "Action": "lambda:InvokeFunction",
                "Resource": FN,
            }
        ],
    }
    auth, *_ = setup(resources={FN: grant})
    assert await auth.allows(BOB, "lambda:InvokeFunction", FN)
    assert not await auth.allows(APP, "lambda:InvokeFunction", FN)


async def test_another_account_is_judged_cross_account_from_the_arn() -> None:
    grant = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": OTHER}, "Action": "lambda:InvokeFunction"}
        ],
    }
    auth, ids, _, _ = setup(resources={FN: grant})
    assert await auth.decide(EVE, "lambda:InvokeFunction", FN) == ImplicitDeny(missing="identity")
    ids.policies[EVE.arn] = [allow("lambda:InvokeFunction")]
    auth.invalidate()
    assert await auth.decide(EVE, "lambda:InvokeFunction", FN) == Allow(via="identity")


async def test_context_keys_reach_the_conditions() -> None:
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "lambda:*",
                "Resource": "*",
                "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
            }
        ],
    }
    auth, *_ = setup({BOB.arn: [policy]})
    assert await auth.allows(BOB, "lambda:GetFunction", FN, {"aws:SourceIp": "10.1.1.1"})
    assert not await auth.allows(BOB, "lambda:GetFunction", FN, {"aws:SourceIp": "192.0.2.1"})


async def test_time_based_conditions_use_the_injected_clock() -> None:
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "lambda:*",
                "Resource": "*",
                "Condition": {"DateLessThan": {"aws:CurrentTime": "2023-11-14T22:15:00Z"}},
            }
        ],
    }
    auth, _, _, clock = setup({BOB.arn: [policy]})  # ManualClock starts at 22:13:20Z
    assert await auth.allows(BOB, "lambda:GetFunction", FN)
    clock.advance(120)
    assert not await auth.allows(BOB, "lambda:GetFunction", FN)


async def test_policies_are_cached_for_the_ttl_then_read_again() -> None:
    auth, ids, res, clock = setup({BOB.arn: [allow("lambda:GetFunction")]})
    for _ in range(5):
        assert await auth.allows(BOB, "lambda:GetFunction", FN)
    assert ids.reads == 1 and res.reads == 1
    ids.policies[BOB.arn] = []  # a change made on another node
    assert await auth.allows(BOB, "lambda:GetFunction", FN), "still cached (eventual)"
    clock.advance(1.01)
    assert not await auth.allows(BOB, "lambda:GetFunction", FN)
    assert ids.reads == 2


async def test_invalidate_applies_a_change_at_once() -> None:
    auth, ids, res, _ = setup({BOB.arn: [allow("lambda:GetFunction")]})
    assert await auth.allows(BOB, "lambda:GetFunction", FN)
    ids.policies[BOB.arn] = []
    res.policies[FN] = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": BOB.arn}, "Action": "lambda:DeleteFunction"}
        ],
    }
    auth.invalidate()
    assert not await auth.allows(BOB, "lambda:GetFunction", FN)
    assert await auth.allows(BOB, "lambda:DeleteFunction", FN)


async def test_sessions_share_their_roles_cache_entry_but_not_other_principals() -> None:
    auth, ids, _, _ = setup({ROLE: [allow("lambda:GetFunction")]})
    assert await auth.allows(APP, "lambda:GetFunction", FN)
    assert not await auth.allows(BOB, "lambda:GetFunction", FN)
    assert ids.reads == 2


async def test_each_distinct_document_is_parsed_once() -> None:
    auth, *_ = setup()
    text = json.dumps(allow("lambda:GetFunction"))
    first = auth.parse(text, "identity")
    assert auth.parse(text, "identity") is first
    assert auth.parse(json.loads(text), "identity") is not first  # keyed by the text as given
    assert auth.parse(json.loads(text), "identity") is auth.parse(json.loads(text), "identity")


async def test_a_stored_document_that_no_longer_parses_denies_everything() -> None:
    broken = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*"}]}
    auth, *_ = setup({BOB.arn: [allow("lambda:*"), broken]})
    decision = await auth.decide(BOB, "lambda:GetFunction", FN)
    assert decision == ExplicitDeny(sid="MalformedPolicy", policy="identity")


async def test_actions_on_no_resource_skip_the_resource_policy() -> None:
    auth, _, res, _ = setup({BOB.arn: [allow("lambda:ListFunctions")]})
    assert await auth.allows(BOB, "lambda:ListFunctions", "*")
    assert res.reads == 0


def test_the_authorizer_is_an_access_check() -> None:
    auth, *_ = setup()
    check: AccessCheck = auth
    assert check is auth


# --- Session policies (AssumeRole's Policy): identity ∩ session, explicit deny anywhere wins -


def _capped(policy: Mapping[str, object], name: str = "capped") -> Principal:
    return role_session(ROLE, name, role_id="AROAORDERS", session_policy=json.dumps(policy))


async def test_a_session_policy_caps_what_the_role_grants() -> None:
    auth, *_ = setup({ROLE: [allow("lambda:*")]})
    capped = _capped(allow("lambda:ListFunctions"))
    assert await auth.decide(capped, "lambda:ListFunctions", "*") == Allow(via="identity")
    denied = await auth.decide(capped, "lambda:GetAccountSettings", "*")
    assert denied == ImplicitDeny(missing="session")
    # The session policy grants nothing the role does not.
    wider = _capped(allow("lambda:*"), "wider")
    assert not await auth.allows(wider, "sqs:SendMessage", "*")


async def test_an_explicit_deny_in_a_session_policy_wins_even_over_a_resource_grant() -> None:
    deny = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Sid": "NoDelete", "Effect": "Deny", "Action": "lambda:Delete*", "Resource": "*"},
        ],
    }
    capped = _capped(deny)
    grant = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": capped.arn}, "Action": "lambda:*"}],
    }
    auth, *_ = setup({ROLE: [allow("lambda:*")]}, {FN: grant})
    assert await auth.decide(capped, "lambda:DeleteFunction", FN) == ExplicitDeny(
        sid="NoDelete", policy="session"
    )


async def test_a_resource_policy_naming_the_session_is_not_capped_but_one_naming_the_role_is() -> (
    None
):
    capped = _capped(allow("lambda:ListFunctions"))

    def grant(principal: str) -> dict[str, object]:
        return {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "lambda:*"}
            ],
        }

    auth, *_ = setup(resources={FN: grant(capped.arn)})
    assert await auth.decide(capped, "lambda:InvokeFunction", FN) == Allow(via="resource")
    auth, *_ = setup(resources={FN: grant(ROLE)})
    assert await auth.decide(capped, "lambda:InvokeFunction", FN) == ImplicitDeny(missing="session")
    assert await auth.allows(APP, "lambda:InvokeFunction", FN)  # uncapped session of the role


async def test_sessions_of_one_role_with_and_without_a_session_policy_do_not_share_grants() -> None:
    auth, ids, _, _ = setup({ROLE: [allow("lambda:*")]})
    # The same session name, hence the same ARN as APP: only the session policy differs.
    capped = _capped(allow("lambda:ListFunctions"), APP.session_name)
    assert capped.arn == APP.arn
    for _ in range(2):  # in both orders, through the cache
        assert await auth.allows(APP, "lambda:GetAccountSettings", "*")
        assert not await auth.allows(capped, "lambda:GetAccountSettings", "*")
        assert await auth.allows(capped, "lambda:ListFunctions", "*")
    assert ids.reads == 1  # the role's policies are still read once for both


async def test_a_session_policy_that_no_longer_parses_denies_everything() -> None:
    auth, *_ = setup({ROLE: [allow("lambda:*")]})
    broken = role_session(ROLE, "b", role_id="AROAORDERS", session_policy='{"Statement": 1}')
    decision = await auth.decide(broken, "lambda:ListFunctions", "*")
    assert isinstance(decision, ExplicitDeny) and decision.sid == "MalformedPolicy"


async def test_a_burst_of_checks_reads_the_policies_once() -> None:
    # 50 requests finding the cache empty at once share one read of the role's policies and
    # one of the function's policy, instead of queueing 50 of each on the store.
    import asyncio

    auth, ids, res, _ = setup({ROLE: [allow("lambda:GetFunctionConfiguration", FN)]})
    answers = await asyncio.gather(
        *(auth.allows(APP, "lambda:GetFunctionConfiguration", FN) for _ in range(50))
    )
    assert all(answers)
    assert (ids.reads, res.reads) == (1, 1)
