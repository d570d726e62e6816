"""IAM over a real SQLite store in tmp_path, with a manual clock: the pieces
``node.identity`` wires together, built the same way (the ``iam`` fixture of conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from nimbus.auth.node_key import NodeKey
from nimbus.auth.session_tokens import SessionTokens
from nimbus.iam.changes import Changes
from nimbus.iam.directory import IdentityDirectory
from nimbus.iam.identities import Identities
from nimbus.iam.policies import Policies
from nimbus.iam.sts import Sts
from nimbus.store.iam_policies import IamPolicyRepository
from nimbus.store.identity import IdentityRepository
from nimbus.testing.clock import ManualClock

ACCOUNT = "123456789012"


@dataclass
class Iam:
    clock: ManualClock
    repo: IdentityRepository
    identities: Identities
    policies: Policies
    tokens: SessionTokens
    directory: IdentityDirectory
    sts: Sts


def build(engine: AsyncEngine) -> Iam:
    clock = ManualClock()
    node_key = NodeKey.generate()
    repo = IdentityRepository(engine, node_key, account=ACCOUNT)
    changes = Changes()
    identities = Identities(repo, account=ACCOUNT, clock=clock, changes=changes)
    policies = Policies(
        IamPolicyRepository(engine), repo, account=ACCOUNT, clock=clock, changes=changes
    )
    tokens = SessionTokens(node_key, clock=clock)
    directory = IdentityDirectory(repo, identities, policies, tokens, account=ACCOUNT, clock=clock)
    changes.on_change(directory.invalidate)
    sts = Sts(identities, directory, tokens, account=ACCOUNT, clock=clock)
    return Iam(clock, repo, identities, policies, tokens, directory, sts)
