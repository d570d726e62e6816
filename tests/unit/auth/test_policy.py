"""IAM's evaluation logic with literal policies: explicit deny wins anywhere, identity OR
resource policy within an account, both across accounts, root allowed, sessions, services."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from nimbus.auth.policy import (
    Allow,
    Decision,
    ExplicitDeny,
    ImplicitDeny,
    Policy,
    Request,
    denial_message,
    evaluate,
    make_request,
    parse_policy,
)
from nimbus.auth.principal import Principal, anonymous, role_session, root

ACCT = "123456789012"
OTHER = "999988887777"
FN = f"arn:aws:lambda:us-east-1:{ACCT}:function:orders"
T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def user(name: str, account: str = ACCT) -> Principal:
    return Principal(
        kind="user",
        arn=f"arn:aws:iam::{account}:user/{name}",
        account=account,
        name=name,
        user_id=f"AIDA{name.upper()}",
    )


BOB = user("bob")
ALICE = user("alice")
APP = role_session(f"arn:aws:iam::{ACCT}:role/app", "worker-1", role_id="AROAAPP")
SNS = Principal(
    kind="service", arn="sns.amazonaws.com", account="", name="sns.amazonaws.com", user_id=""
)


def identity(*statements: dict[str, object]) -> Policy:
    return parse_policy({"Version": "2012-10-17", "Statement": list(statements)})


def resource(*statements: dict[str, object]) -> Policy:
    return parse_policy({"Version": "2012-10-17", "Statement": list(statements)}, "resource")


def req(
    principal: Principal,
    action: str = "lambda:GetFunction",
    arn: str = FN,
    context: Mapping[str, object] | None = None,
) -> Request:
    return make_request(principal, action, arn, now=T0, context=context)


def decide(
    request: Request,
    *identities: Policy,
    res: Policy | None = None,
    same_account: bool = True,
    session: tuple[Policy, ...] | None = None,
) -> Decision:
    return evaluate(
        request, identity=identities, resource=res, same_account=same_account, session=session
    )


ALLOW_GET = identity(
    {"Sid": "Get", "Effect": "Allow", "Action": "lambda:GetFunction", "Resource": FN}
)
DENY_ALL = identity({"Sid": "NoLambda", "Effect": "Deny", "Action": "lambda:*", "Resource": "*"})


def test_nothing_applies_is_an_implicit_deny() -> None:
    assert decide(req(BOB)) == ImplicitDeny(missing="identity")


def test_an_identity_policy_allows_its_action_on_its_resource_only() -> None:
    assert decide(req(BOB), ALLOW_GET) == Allow(via="identity")
    assert decide(req(BOB, "lambda:DeleteFunction"), ALLOW_GET) == ImplicitDeny(missing="identity")
    other = FN.replace("orders", "payments")
    assert decide(req(BOB, arn=other), ALLOW_GET) == ImplicitDeny(missing="identity")


def test_actions_match_case_insensitively_with_wildcards() -> None:
    policy = identity(
        {"Effect": "Allow", "Action": ["LAMBDA:get*", "lambda:List?ags"], "Resource": "*"}
    )
    assert decide(req(BOB, "lambda:GetFunctionConfiguration"), policy) == Allow(via="identity")
    assert decide(req(BOB, "lambda:ListTags"), policy) == Allow(via="identity")
    assert decide(req(BOB, "lambda:ListFunctions"), policy) == ImplicitDeny(missing="identity")
    assert decide(req(BOB, "logs:GetLogEvents"), policy) == ImplicitDeny(missing="identity")


def test_resources_match_case_sensitively_with_per_segment_wildcards() -> None:
    policy = identity(
        {
            "Effect": "Allow",
            "Action": "lambda:*",
            "Resource": f"arn:aws:lambda:*:{ACCT}:function:ord*",
        }
    )
    assert decide(req(BOB), policy) == Allow(via="identity")
    # The last segment's wildcard spans colons: a version or alias ARN matches too.
    assert decide(req(BOB, arn=FN + ":live"), policy) == Allow(via="identity")
    assert decide(req(BOB, arn=FN.replace("orders", "Orders")), policy) == ImplicitDeny(
        missing="identity"
    )
    # A wildcard in the region segment does not swallow the account segment.
    narrow = identity(
        {"Effect": "Allow", "Action": "lambda:*", "Resource": "arn:aws:lambda:*:function:orders"}
    )
    assert decide(req(BOB), narrow) == ImplicitDeny(missing="identity")


def test_an_unqualified_function_arn_does_not_match_its_versions() -> None:
    assert decide(req(BOB, arn=FN + ":1"), ALLOW_GET) == ImplicitDeny(missing="identity")


def test_not_action_allows_everything_but_the_listed_actions() -> None:
    policy = identity({"Effect": "Allow", "NotAction": "lambda:Delete*", "Resource": "*"})
    assert decide(req(BOB, "lambda:InvokeFunction"), policy) == Allow(via="identity")
    assert decide(req(BOB, "lambda:DeleteFunction"), policy) == ImplicitDeny(missing="identity")


def test_not_resource_denies_everywhere_but_the_listed_resources() -> None:
    allow = identity({"Effect": "Allow", "Action": "lambda:*", "Resource": "*"})
    fence = identity(
        {"Sid": "OnlyOrders", "Effect": "Deny", "Action": "lambda:*", "NotResource": FN}
    )
    assert decide(req(BOB), allow, fence) == Allow(via="identity")
    elsewhere = req(BOB, arn=FN.replace("orders", "payments"))
    assert decide(elsewhere, allow, fence) == ExplicitDeny(sid="OnlyOrders", policy="identity")


def test_an_explicit_deny_in_an_identity_policy_beats_any_allow() -> None:
    grant = resource({"Effect": "Allow", "Principal": {"AWS": BOB.arn}, "Action": "lambda:*"})
    assert decide(req(BOB), ALLOW_GET, DENY_ALL, res=grant) == ExplicitDeny(
        sid="NoLambda", policy="identity"
    )


def test_an_explicit_deny_in_the_resource_policy_beats_an_identity_allow() -> None:
    fence = resource(
        {
            "Sid": "NoBob",
            "Effect": "Deny",
            "Principal": {"AWS": BOB.arn},
            "Action": "lambda:GetFunction",
            "Resource": FN,
        }
    )
    assert decide(req(BOB), ALLOW_GET, res=fence) == ExplicitDeny(sid="NoBob", policy="resource")
    assert decide(req(ALICE), ALLOW_GET, res=fence) == Allow(via="identity")


def test_a_resource_policy_deny_naming_the_account_covers_all_its_principals() -> None:
    fence = resource({"Effect": "Deny", "Principal": {"AWS": ACCT}, "Action": "lambda:*"})
    assert decide(req(BOB), ALLOW_GET, res=fence) == ExplicitDeny(sid="", policy="resource")
    assert decide(req(APP), ALLOW_GET, res=fence) == ExplicitDeny(sid="", policy="resource")


def test_a_resource_policy_grants_another_user_of_the_same_account_alone() -> None:
    grant = resource(
        {
            "Effect": "Allow",
            "Principal": {"AWS": ALICE.arn},
            "Action": "lambda:InvokeFunction",
            "Resource": FN,
        }
    )
    assert decide(req(ALICE, "lambda:InvokeFunction"), res=grant) == Allow(via="resource")
    assert decide(req(BOB, "lambda:InvokeFunction"), res=grant) == ImplicitDeny(missing="identity")


def test_a_role_arn_in_a_resource_policy_grants_its_sessions() -> None:
    grant = resource(
        {"Effect": "Allow", "Principal": {"AWS": APP.role_arn}, "Action": "lambda:InvokeFunction"}
    )
    assert decide(req(APP, "lambda:InvokeFunction"), res=grant) == Allow(via="resource")
    other = role_session(f"arn:aws:iam::{ACCT}:role/other", "s", role_id="AROAOTHER")
    assert decide(req(other, "lambda:InvokeFunction"), res=grant) == ImplicitDeny(
        missing="identity"
    )


def test_an_account_principal_in_the_same_account_delegates_to_identity_policies() -> None:
    grant = resource(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"}, "Action": "lambda:*"}
    )
    assert decide(req(BOB), res=grant) == ImplicitDeny(missing="identity")
    assert decide(req(BOB), ALLOW_GET, res=grant) == Allow(via="identity")


def test_star_principal_grants_everyone() -> None:
    public = resource({"Effect": "Allow", "Principal": "*", "Action": "lambda:InvokeFunction"})
    outsider = user("eve", OTHER)
    invoke = req(outsider, "lambda:InvokeFunction")
    assert decide(invoke, res=public, same_account=False) == ImplicitDeny(missing="identity"), (
        "across accounts the caller's own account must allow it too"
    )
    assert decide(req(BOB, "lambda:InvokeFunction"), res=public) == Allow(via="resource")


def test_cross_account_needs_both_the_identity_and_the_resource_policy() -> None:
    eve = user("eve", OTHER)
    allow_eve = identity({"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": FN})
    grant = resource(
        {"Effect": "Allow", "Principal": {"AWS": OTHER}, "Action": "lambda:InvokeFunction"}
    )
    call = req(eve, "lambda:InvokeFunction")
    assert decide(call, allow_eve, same_account=False) == ImplicitDeny(missing="resource")
    assert decide(call, res=grant, same_account=False) == ImplicitDeny(missing="identity")
    assert decide(call, allow_eve, res=grant, same_account=False) == Allow(via="identity")


def test_cross_account_root_needs_only_the_resource_policy() -> None:
    other_root = root(OTHER)
    grant = resource({"Effect": "Allow", "Principal": {"AWS": OTHER}, "Action": "lambda:*"})
    assert decide(req(other_root), same_account=False) == ImplicitDeny(missing="resource")
    assert decide(req(other_root), res=grant, same_account=False) == Allow(via="identity")


def test_the_accounts_root_is_allowed_everything_even_against_denies() -> None:
    fence = resource({"Effect": "Deny", "Principal": "*", "Action": "*"})
    assert decide(req(root(ACCT), "lambda:DeleteFunction"), DENY_ALL, res=fence) == Allow(
        via="root"
    )


def test_service_principals_are_decided_by_the_resource_policy_alone() -> None:
    grant = resource(
        {
            "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "lambda:InvokeFunction",
            "Resource": FN,
            "Condition": {"ArnLike": {"AWS:SourceArn": f"arn:aws:sns:us-east-1:{ACCT}:orders"}},
        }
    )
    topic = {"aws:SourceArn": f"arn:aws:sns:us-east-1:{ACCT}:orders"}
    invoke = req(SNS, "lambda:InvokeFunction", context=topic)
    assert decide(invoke, res=grant, same_account=False) == Allow(via="resource")
    wrong_topic = req(SNS, "lambda:InvokeFunction", context={"aws:SourceArn": "arn:aws:sns:x"})
    assert decide(wrong_topic, res=grant) == ImplicitDeny(missing="resource")
    assert decide(invoke) == ImplicitDeny(missing="resource")
    s3 = Principal(
        kind="service", arn="s3.amazonaws.com", account="", name="s3.amazonaws.com", user_id=""
    )
    assert decide(req(s3, "lambda:InvokeFunction"), res=grant) == ImplicitDeny(missing="resource")


def test_not_principal_deny_excludes_only_callers_listed_with_their_account() -> None:
    def fence(*listed: str) -> Policy:
        return resource(
            {
                "Sid": "OnlyBob",
                "Effect": "Deny",
                "NotPrincipal": {"AWS": list(listed)},
                "Action": "lambda:*",
            }
        )

    with_account = fence(BOB.arn, ACCT)
    assert decide(req(BOB), ALLOW_GET, res=with_account) == Allow(via="identity")
    assert decide(req(ALICE), ALLOW_GET, res=with_account) == ExplicitDeny(
        sid="OnlyBob", policy="resource"
    )
    # AWS: without the account listed, the deny applies to the listed user too.
    assert decide(req(BOB), ALLOW_GET, res=fence(BOB.arn)) == ExplicitDeny(
        sid="OnlyBob", policy="resource"
    )


def test_session_policies_cap_identity_grants() -> None:
    everything = identity({"Effect": "Allow", "Action": "lambda:*", "Resource": "*"})
    read_only = (identity({"Effect": "Allow", "Action": "lambda:Get*", "Resource": "*"}),)
    assert decide(req(APP), everything, session=read_only) == Allow(via="identity")
    assert decide(req(APP, "lambda:DeleteFunction"), everything, session=read_only) == (
        ImplicitDeny(missing="session")
    )
    # A resource policy naming the session itself is not capped; one naming the role is.
    for_session = resource(
        {"Effect": "Allow", "Principal": {"AWS": APP.arn}, "Action": "lambda:DeleteFunction"}
    )
    for_role = resource(
        {"Effect": "Allow", "Principal": {"AWS": APP.role_arn}, "Action": "lambda:DeleteFunction"}
    )
    delete = req(APP, "lambda:DeleteFunction")
    assert decide(delete, res=for_session, session=read_only) == Allow(via="resource")
    assert decide(delete, res=for_role, session=read_only) == ImplicitDeny(missing="session")


def test_global_keys_come_from_the_principal_and_the_time() -> None:
    context = req(APP).context
    assert context["aws:principalarn"] == (APP.role_arn,)  # the role, not the session
    assert context["aws:principalaccount"] == (ACCT,)
    assert context["aws:principaltype"] == ("AssumedRole",)
    assert context["aws:userid"] == ("AROAAPP:worker-1",)
    assert "aws:username" not in context
    assert req(BOB).context["aws:username"] == ("bob",)
    assert context["aws:currenttime"] == ("2026-01-01T00:00:00Z",)
    assert context["aws:epochtime"] == (int(T0),)
    given = req(BOB, context={"AWS:SourceIp": "10.1.2.3", "aws:TagKeys": ["a", "b"]}).context
    assert given["aws:sourceip"] == ("10.1.2.3",)
    assert given["aws:tagkeys"] == ("a", "b")


def test_policy_variables_in_resources() -> None:
    own = identity(
        {
            "Effect": "Allow",
            "Action": "lambda:*",
            "Resource": f"arn:aws:lambda:*:{ACCT}:function:${{aws:username}}-*",
        }
    )
    assert decide(req(BOB, arn=FN.replace("orders", "bob-api")), own) == Allow(via="identity")
    assert decide(req(ALICE, arn=FN.replace("orders", "bob-api")), own) == ImplicitDeny(
        missing="identity"
    )
    # A role session has no aws:username: the variable matches nothing.
    assert decide(req(APP, arn=FN.replace("orders", "-api")), own) == ImplicitDeny(
        missing="identity"
    )


def test_variables_are_literal_text_in_2008_policies() -> None:
    old = parse_policy(
        {
            "Version": "2008-10-17",
            "Statement": {
                "Effect": "Allow",
                "Action": "lambda:*",
                "Resource": "arn:aws:lambda:::${aws:username}",
            },
        }
    )
    assert decide(req(BOB, arn="arn:aws:lambda:::${aws:username}"), old) == Allow(via="identity")
    assert decide(req(BOB, arn="arn:aws:lambda:::bob"), old) == ImplicitDeny(missing="identity")


def test_a_statement_applies_only_when_its_conditions_hold() -> None:
    tls_only = identity(
        {
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Sid": "TLS",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    )
    plain = req(BOB, context={"aws:SecureTransport": False})
    secure = req(BOB, context={"aws:SecureTransport": True})
    assert decide(plain, ALLOW_GET, tls_only) == ExplicitDeny(sid="TLS", policy="identity")
    assert decide(secure, ALLOW_GET, tls_only) == Allow(via="identity")


@pytest.mark.parametrize(
    ("decision", "message"),
    [
        (
            ImplicitDeny(missing="identity"),
            f"User: {BOB.arn} is not authorized to perform: lambda:GetFunction on resource: {FN}"
            " because no identity-based policy allows the lambda:GetFunction action",
        ),
        (
            ImplicitDeny(missing="resource"),
            f"User: {BOB.arn} is not authorized to perform: lambda:GetFunction on resource: {FN}"
            " because no resource-based policy allows the lambda:GetFunction action",
        ),
        (
            ExplicitDeny(sid="X", policy="identity"),
            f"User: {BOB.arn} is not authorized to perform: lambda:GetFunction on resource: {FN}"
            " with an explicit deny in an identity-based policy",
        ),
        (
            ExplicitDeny(sid="", policy="resource"),
            f"User: {BOB.arn} is not authorized to perform: lambda:GetFunction on resource: {FN}"
            " with an explicit deny in a resource-based policy",
        ),
        (
            ImplicitDeny(missing="session"),
            f"User: {BOB.arn} is not authorized to perform: lambda:GetFunction on resource: {FN}"
            " because no session policy allows the lambda:GetFunction action",
        ),
    ],
)
def test_denial_messages_use_aws_wording(decision: Decision, message: str) -> None:
    assert denial_message(decision, req(BOB)) == message


def test_an_allow_has_no_denial_message() -> None:
    with pytest.raises(ValueError):
        denial_message(Allow(via="identity"), req(BOB))


# --- the anonymous caller (a NONE function URL) ----------------------------------------------

PUBLIC_URL = resource(
    {
        "Sid": "url",
        "Effect": "Allow",
        "Principal": "*",
        "Action": "lambda:InvokeFunctionUrl",
        "Resource": FN,
        "Condition": {"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}},
    }
)


def test_an_anonymous_caller_is_allowed_only_by_a_public_resource_statement() -> None:
    none = {"lambda:FunctionUrlAuthType": "NONE"}
    asked = req(anonymous(), "lambda:InvokeFunctionUrl", context=none)
    assert isinstance(decide(asked, res=PUBLIC_URL, same_account=False), Allow)
    # The condition holds the statement to NONE URLs; no policy at all allows nothing.
    iam = req(
        anonymous(), "lambda:InvokeFunctionUrl", context={"lambda:FunctionUrlAuthType": "AWS_IAM"}
    )
    assert isinstance(decide(iam, res=PUBLIC_URL, same_account=False), ImplicitDeny)
    assert isinstance(decide(asked, same_account=False), ImplicitDeny)
    # An account's identity policies never speak for an anonymous caller.
    everything = identity({"Effect": "Allow", "Action": "*", "Resource": "*"})
    assert isinstance(decide(asked, everything, same_account=False), ImplicitDeny)
    # Naming an account (not "*") does not reach it either.
    account_only = resource(
        {"Effect": "Allow", "Principal": {"AWS": ACCT}, "Action": "lambda:*", "Resource": FN}
    )
    assert isinstance(decide(asked, res=account_only, same_account=False), ImplicitDeny)
