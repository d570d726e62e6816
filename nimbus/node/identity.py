"""Stage 3b: identity — IAM's users, keys, roles and policies over the store, STS's sessions,
the credential directory the gate authenticates against, and the one authorizer every access
check goes through (identity policies from IAM, resource policies from Lambda).

Built after the control plane (the authorizer reads Lambda's resource policies) and before the
data plane (each environment gets its execution role's session from ``directory``). The first
start creates the administrator key (``iam.admin_key``); settings can name it instead."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TextIO

from nimbus.auth.authorizer import Authorizer
from nimbus.auth.session_tokens import SessionTokens
from nimbus.clock import Clock
from nimbus.config import Settings
from nimbus.iam.admin_key import AdminKey, ensure_admin_key
from nimbus.iam.changes import Changes
from nimbus.iam.directory import IdentityDirectory
from nimbus.iam.identities import Identities
from nimbus.iam.policies import Policies
from nimbus.iam.sts import Sts
from nimbus.node.control import ControlPlane
from nimbus.node.store import StoreParts
from nimbus.store.iam_policies import IamPolicyRepository
from nimbus.store.identity import IdentityRepository


@dataclass(frozen=True, kw_only=True)
class IdentityParts:
    identities: Identities
    policies: Policies
    directory: IdentityDirectory  # CredentialSource, IdentityPolicySource, RoleCredentialIssuer
    sts: Sts
    authorizer: Authorizer
    admin_key: AdminKey | None  # the key created or set at this start; None: one existed


async def open_identity(
    settings: Settings,
    store: StoreParts,
    control: ControlPlane,
    *,
    clock: Clock,
    console: TextIO | None = None,
) -> IdentityParts:
    account = settings.account_id
    repo = IdentityRepository(store.engine, store.node_key, account=account)
    changes = Changes()
    identities = Identities(repo, account=account, clock=clock, changes=changes)
    policies = Policies(
        IamPolicyRepository(store.engine), repo, account=account, clock=clock, changes=changes
    )
    tokens = SessionTokens(store.node_key, clock=clock)
    directory = IdentityDirectory(repo, identities, policies, tokens, account=account, clock=clock)
    authorizer = Authorizer(directory, control.policies, clock=clock)
    # An IAM or resource-policy write applies to the very next request on this node.
    changes.on_change(directory.invalidate)
    changes.on_change(authorizer.invalidate)
    control.policies.on_change(authorizer.invalidate)
    sts = Sts(identities, directory, tokens, account=account, clock=clock)
    admin_key = await ensure_admin_key(
        identities,
        access_key_id=settings.admin_access_key_id,
        secret=settings.admin_secret_access_key,
        data_dir=settings.data_dir,
        region=settings.region,
        endpoint=settings.endpoint_url,
        console=console if console is not None else sys.stderr,
    )
    return IdentityParts(
        identities=identities,
        policies=policies,
        directory=directory,
        sts=sts,
        authorizer=authorizer,
        admin_key=admin_key,
    )
