"""IAM's policies: inline policies of users and roles, customer managed policies with their
versions, AWS managed policies (``aws_policies``), and attachments — with IAM's quotas
(IAM User Guide, "IAM and AWS STS quotas"): inline policies 2,048 characters per user and
10,240 per role in all, a managed policy 6,144, five versions, ten attached policies per
user or role; white space does not count."""

from __future__ import annotations

import re
from dataclasses import replace

from nimbus.clock import Clock
from nimbus.iam import documents
from nimbus.iam.aws_policies import AWS_MANAGED, is_aws_managed
from nimbus.iam.changes import Changes
from nimbus.iam.errors import (
    DeleteConflictError,
    EntityAlreadyExistsError,
    InvalidInputError,
    LimitExceededError,
    NoSuchEntityError,
)
from nimbus.iam.identities import no_role, no_user
from nimbus.iam.paging import Page, page
from nimbus.iam.validation import (
    VERSION_ID,
    check_description,
    check_document,
    check_name,
    check_policy_path,
    check_string,
    check_tags,
    unique_id,
)
from nimbus.model.iam import InlinePolicy, ManagedPolicy, OwnerKind, PolicyVersion, Tags
from nimbus.store.iam_policies import IamPolicyRepository
from nimbus.store.identity import IdentityRepository

INLINE_LIMIT: dict[OwnerKind, int] = {"user": 2048, "role": 10240}
MANAGED_LIMIT = 6144
VERSIONS_LIMIT = 5
ATTACHED_LIMIT = 10
_POLICY_ARN = re.compile(r"arn:aws:iam::(\d{12}|aws):policy(/.*)?/([\w+=,.@-]+)", re.ASCII)


def _not_found(arn: str) -> NoSuchEntityError:
    return NoSuchEntityError(f"Policy {arn} does not exist or is not attachable.")


class Policies:
    def __init__(
        self,
        repo: IamPolicyRepository,
        owners: IdentityRepository,
        *,
        account: str,
        clock: Clock,
        changes: Changes,
    ) -> None:
        self._repo = repo
        self._owners = owners  # the users and roles policies are attached to
        self._account = account
        self._clock = clock
        self._changes = changes

    async def _owner_exists(self, kind: OwnerKind, owner: str) -> None:
        if kind == "user":
            if await self._owners.get_user(owner) is None:
                raise no_user(owner)
        elif await self._owners.get_role(owner) is None:
            raise no_role(owner)

    # --- inline -------------------------------------------------------------------------

    async def put_inline(self, kind: OwnerKind, owner: str, name: str, document: str) -> None:
        check_name(owner, f"{kind}Name", max_len=128 if kind == "user" else 64)
        check_name(name, "policyName", max_len=128)
        check_document(document)
        documents.validate(document, "identity")
        await self._owner_exists(kind, owner)
        others = [p for p in await self._repo.list_inline(kind, owner) if p.name != name]
        total = documents.size(document) + sum(documents.size(p.document) for p in others)
        if total > INLINE_LIMIT[kind]:
            raise LimitExceededError(
                f"Maximum policy size of {INLINE_LIMIT[kind]} bytes exceeded for {kind} {owner}"
            )
        await self._repo.put_inline(
            InlinePolicy(kind=kind, owner=owner, name=name, document=document)
        )
        self._changes.changed()

    async def get_inline(self, kind: OwnerKind, owner: str, name: str) -> InlinePolicy:
        await self._owner_exists(kind, owner)
        policy = await self._repo.get_inline(kind, owner, name)
        if policy is None:
            raise NoSuchEntityError(f"The {kind} policy with name {name} cannot be found.")
        return policy

    async def delete_inline(self, kind: OwnerKind, owner: str, name: str) -> None:
        await self._owner_exists(kind, owner)
        if not await self._repo.delete_inline(kind, owner, name):
            raise NoSuchEntityError(f"The {kind} policy with name {name} cannot be found.")
        self._changes.changed()

    async def list_inline(
        self, kind: OwnerKind, owner: str, *, marker: str | None, max_items: int | None
    ) -> Page[str]:
        await self._owner_exists(kind, owner)
        names = [p.name for p in await self._repo.list_inline(kind, owner)]
        return page(names, lambda n: n, marker=marker, max_items=max_items)

    async def inline_documents(self, kind: OwnerKind, owner: str) -> list[str]:
        return [p.document for p in await self._repo.list_inline(kind, owner)]

    # --- managed ------------------------------------------------------------------------

    def _check_arn(self, arn: str) -> None:
        check_string(arn, "policyArn", min_len=20, max_len=2048)
        if _POLICY_ARN.fullmatch(arn) is None:
            raise InvalidInputError(f"ARN {arn} is not valid.")

    async def create_policy(
        self,
        name: str,
        document: str,
        *,
        path: str = "/",
        description: str = "",
        tags: Tags = (),
    ) -> ManagedPolicy:
        check_name(name, "policyName", max_len=128)
        check_policy_path(path)
        check_description(description)
        check_tags(tags)
        self._check_managed_document(document)
        now = self._clock.now()
        arn = f"arn:aws:iam::{self._account}:policy{path}{name}"
        policy = ManagedPolicy(
            arn=arn,
            name=name,
            policy_id=unique_id("ANPA"),
            path=path,
            description=description,
            default_version="v1",
            next_version=2,
            tags=tags,
            created_at=now,
            updated_at=now,
        )
        first = PolicyVersion(arn=arn, version_id="v1", document=document, created_at=now)
        if not await self._repo.create_policy(policy, first):
            raise EntityAlreadyExistsError(
                f"A policy called {name} already exists. Duplicate names are not allowed."
            )
        self._changes.changed()
        return policy

    @staticmethod
    def _check_managed_document(document: str) -> None:
        check_document(document)
        documents.validate(document, "identity", managed=True)
        documents.check_size(document, MANAGED_LIMIT, "PolicySize")

    async def get_policy(self, arn: str) -> ManagedPolicy:
        self._check_arn(arn)
        if is_aws_managed(arn):
            if arn not in AWS_MANAGED:
                raise NoSuchEntityError(f"Policy {arn} was not found.")
            counts = await self._repo.attachment_counts()
            return _with_count(AWS_MANAGED[arn][0], counts.get(arn, 0))
        stored = await self._repo.get_policy(arn)
        if stored is None:
            raise NoSuchEntityError(f"Policy {arn} was not found.")
        return stored

    async def _customer_policy(self, arn: str) -> ManagedPolicy:
        policy = await self.get_policy(arn)
        if policy.aws_managed:
            raise InvalidInputError(
                f"Policy {arn} is an AWS managed policy: it cannot be changed or deleted."
            )
        return policy

    async def list_policies(
        self,
        *,
        scope: str = "All",
        only_attached: bool = False,
        path_prefix: str = "/",
        marker: str | None = None,
        max_items: int | None = None,
    ) -> Page[ManagedPolicy]:
        if scope not in ("All", "AWS", "Local"):
            raise InvalidInputError(f"Invalid Scope {scope}: must be All, AWS or Local.")
        check_policy_path(path_prefix, "pathPrefix")
        counts = await self._repo.attachment_counts()
        found: list[ManagedPolicy] = []
        if scope in ("All", "AWS"):
            found += [_with_count(p, counts.get(p.arn, 0)) for p, _ in AWS_MANAGED.values()]
        if scope in ("All", "Local"):
            found += await self._repo.list_policies()
        chosen = [
            p
            for p in found
            if p.path.startswith(path_prefix) and (p.attachment_count or not only_attached)
        ]
        return page(chosen, lambda p: p.arn, marker=marker, max_items=max_items)

    async def delete_policy(self, arn: str) -> None:
        policy = await self._customer_policy(arn)
        if policy.attachment_count:
            raise DeleteConflictError("Cannot delete a policy attached to entities.")
        if len(await self._repo.list_versions(arn)) > 1:
            raise DeleteConflictError(
                "This policy has more than one version. Before you delete a policy, you must "
                "delete the policy's versions. The default version is deleted with the policy."
            )
        await self._repo.delete_policy(arn)
        self._changes.changed()

    async def create_version(self, arn: str, document: str, *, set_default: bool) -> PolicyVersion:
        await self._customer_policy(arn)
        self._check_managed_document(document)
        stored = await self._repo.add_version(
            PolicyVersion(arn=arn, version_id="", document=document, created_at=self._clock.now()),
            set_default=set_default,
            limit=VERSIONS_LIMIT,
        )
        if stored is None:
            raise LimitExceededError(
                f"A managed policy can have up to {VERSIONS_LIMIT} versions. Before you create "
                "a new version, you must delete an existing version."
            )
        self._changes.changed()
        return stored

    async def get_version(self, arn: str, version_id: str) -> tuple[PolicyVersion, bool]:
        """The version and whether it is the default."""
        policy = await self.get_policy(arn)
        self._check_version_id(version_id)
        if policy.aws_managed:
            version = AWS_MANAGED[arn][1] if version_id == "v1" else None
        else:
            version = await self._repo.get_version(arn, version_id)
        if version is None:
            raise NoSuchEntityError(f"Policy {arn} version {version_id} does not exist.")
        return version, version_id == policy.default_version

    async def list_versions(
        self, arn: str, *, marker: str | None, max_items: int | None
    ) -> tuple[Page[PolicyVersion], str]:
        """A page of versions (newest first) and the default version's id."""
        policy = await self.get_policy(arn)
        versions = (
            [AWS_MANAGED[arn][1]] if policy.aws_managed else await self._repo.list_versions(arn)
        )
        # Newest first, as IAM lists them: a zero-padded number sorts as text.
        ordered = page(
            versions,
            lambda v: f"{10**9 - int(v.version_id[1:]):010d}",
            marker=marker,
            max_items=max_items,
        )
        return ordered, policy.default_version

    async def delete_version(self, arn: str, version_id: str) -> None:
        policy = await self._customer_policy(arn)
        self._check_version_id(version_id)
        if version_id == policy.default_version:
            raise DeleteConflictError("Cannot delete the default version of a policy.")
        if not await self._repo.delete_version(arn, version_id):
            raise NoSuchEntityError(f"Policy {arn} version {version_id} does not exist.")
        self._changes.changed()

    async def set_default_version(self, arn: str, version_id: str) -> None:
        await self._customer_policy(arn)
        self._check_version_id(version_id)
        if await self._repo.get_version(arn, version_id) is None:
            raise NoSuchEntityError(f"Policy {arn} version {version_id} does not exist.")
        await self._repo.set_default_version(arn, version_id, self._clock.now())
        self._changes.changed()

    @staticmethod
    def _check_version_id(version_id: str) -> None:
        check_string(version_id, "versionId", pattern=VERSION_ID)

    # --- attachments --------------------------------------------------------------------

    async def attach(self, kind: OwnerKind, owner: str, arn: str) -> None:
        self._check_arn(arn)
        await self._owner_exists(kind, owner)
        if is_aws_managed(arn):
            if arn not in AWS_MANAGED:
                raise _not_found(arn)
        elif await self._repo.get_policy(arn) is None:
            raise _not_found(arn)
        if not await self._repo.attach(kind, owner, arn, limit=ATTACHED_LIMIT):
            what = "PoliciesPerUser" if kind == "user" else "PoliciesPerRole"
            raise LimitExceededError(f"Cannot exceed quota for {what}: {ATTACHED_LIMIT}")
        self._changes.changed()

    async def detach(self, kind: OwnerKind, owner: str, arn: str) -> None:
        self._check_arn(arn)
        await self._owner_exists(kind, owner)
        if not await self._repo.detach(kind, owner, arn):
            raise NoSuchEntityError(f"Policy {arn} was not found.")
        self._changes.changed()

    async def list_attached(
        self,
        kind: OwnerKind,
        owner: str,
        *,
        path_prefix: str = "/",
        marker: str | None = None,
        max_items: int | None = None,
    ) -> Page[tuple[str, str]]:
        """(policy name, policy ARN) of each policy attached to ``owner``."""
        check_policy_path(path_prefix, "pathPrefix")
        await self._owner_exists(kind, owner)
        attached = []
        for arn in await self._repo.attached(kind, owner):
            match = _POLICY_ARN.fullmatch(arn)
            path = (match.group(2) or "") + "/" if match else "/"
            if path.startswith(path_prefix):
                attached.append((arn.rsplit("/", 1)[-1], arn))
        return page(attached, lambda a: a[1], marker=marker, max_items=max_items)

    async def attached_documents(self, kind: OwnerKind, owner: str) -> list[str]:
        """The default version of every policy attached to ``owner``."""
        arns = await self._repo.attached(kind, owner)
        stored = await self._repo.default_documents([a for a in arns if not is_aws_managed(a)])
        found = []
        for arn in arns:
            if arn in AWS_MANAGED:
                found.append(AWS_MANAGED[arn][1].document)
            elif arn in stored:
                found.append(stored[arn])
        return found


def _with_count(policy: ManagedPolicy, count: int) -> ManagedPolicy:
    return replace(policy, attachment_count=count)
