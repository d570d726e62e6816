"""IAM users, their access keys, and roles: the IAM API's identity operations, with IAM's
rules (botocore ``iam`` model and the IAM API reference): names unique regardless of case,
ARNs carrying the path, at most two access keys per user, a user or role deleted only once
nothing is left on it (``DeleteConflict``), MaxSessionDuration 3600..43200."""

from __future__ import annotations

from nimbus.clock import Clock
from nimbus.iam import documents
from nimbus.iam.changes import Changes
from nimbus.iam.errors import (
    DeleteConflictError,
    EntityAlreadyExistsError,
    IamValidationError,
    LimitExceededError,
    NoSuchEntityError,
)
from nimbus.iam.paging import Page, page
from nimbus.iam.validation import (
    access_key_id,
    check_description,
    check_document,
    check_name,
    check_path,
    check_path_prefix,
    check_tags,
    merge_tags,
    secret_access_key,
    unique_id,
)
from nimbus.model.iam import AccessKey, KeyStatus, Role, Tags, User
from nimbus.store.identity import DeleteOutcome, IdentityRepository

KEYS_PER_USER = 2  # IAM quota AccessKeysPerUser
TRUST_POLICY_LIMIT = 2048  # IAM quota "Role trust policy length" (ACLSizePerRole)
SESSION_RANGE = (3600, 43200)  # roleMaxSessionDurationType

_CONFLICT = {
    "keys": "Cannot delete entity, must delete access keys first.",
    "inline": "Cannot delete entity, must delete policies first.",
    "attached": "Cannot delete entity, must detach all policies first.",
}


def _deleted(outcome: DeleteOutcome, missing: NoSuchEntityError) -> None:
    if outcome == "missing":
        raise missing
    if outcome != "deleted":
        raise DeleteConflictError(_CONFLICT[outcome])


def check_session_duration(value: int, member: str = "maxSessionDuration") -> int:
    low, high = SESSION_RANGE
    if not low <= value <= high:
        bound = (
            f"greater than or equal to {low}" if value < low else f"less than or equal to {high}"
        )
        raise IamValidationError(
            f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy "
            f"constraint: Member must have value {bound}"
        )
    return value


def no_user(name: str) -> NoSuchEntityError:
    return NoSuchEntityError(f"The user with name {name} cannot be found.")


def no_role(name: str) -> NoSuchEntityError:
    return NoSuchEntityError(f"The role with name {name} cannot be found.")


class Identities:
    def __init__(
        self, repo: IdentityRepository, *, account: str, clock: Clock, changes: Changes
    ) -> None:
        self._repo = repo
        self._account = account
        self._clock = clock
        self._changes = changes

    # --- users --------------------------------------------------------------------------

    async def create_user(self, name: str, *, path: str = "/", tags: Tags = ()) -> User:
        check_name(name, "userName")
        check_path(path)
        check_tags(tags)
        user = User(
            name=name,
            user_id=unique_id("AIDA"),
            path=path,
            arn=f"arn:aws:iam::{self._account}:user{path}{name}",
            tags=tags,
            created_at=self._clock.now(),
        )
        if not await self._repo.create_user(user):
            raise EntityAlreadyExistsError(f"User with name {name} already exists.")
        self._changes.changed()
        return user

    async def get_user(self, name: str) -> User:
        user = await self._repo.get_user(name)
        if user is None:
            raise no_user(name)
        return user

    async def list_users(
        self, *, path_prefix: str = "/", marker: str | None = None, max_items: int | None = None
    ) -> Page[User]:
        check_path_prefix(path_prefix)
        users = [
            u
            for u in await self._repo.list_users(after=None, limit=1_000_000)
            if u.path.startswith(path_prefix)
        ]
        return page(users, lambda u: u.name, marker=marker, max_items=max_items)

    async def update_user(
        self, name: str, *, new_name: str | None = None, new_path: str | None = None
    ) -> None:
        current = await self.get_user(name)
        target = check_name(new_name, "newUserName") if new_name else current.name
        path = check_path(new_path, "newPath") if new_path else current.path
        done = await self._repo.update_user(name, new_name=target, new_path=path)
        if done is None:
            raise no_user(name)
        if not done:
            raise EntityAlreadyExistsError(f"User with name {target} already exists.")
        self._changes.changed()

    async def delete_user(self, name: str) -> None:
        _deleted(await self._repo.delete_user(name), no_user(name))
        self._changes.changed()

    async def tag_user(self, name: str, tags: Tags) -> None:
        check_tags(tags)
        user = await self.get_user(name)
        await self._repo.set_user_tags(name, merge_tags(user.tags, tags))

    async def untag_user(self, name: str, keys: tuple[str, ...]) -> None:
        user = await self.get_user(name)
        await self._repo.set_user_tags(name, tuple((k, v) for k, v in user.tags if k not in keys))

    # --- access keys --------------------------------------------------------------------

    async def create_access_key(self, user_name: str | None) -> tuple[AccessKey, str]:
        """A new Active key for ``user_name`` (None: a key of the account itself, like the
        root user's — Nimbus's administrator keys) and its secret, shown only now."""
        if user_name is not None:
            await self.get_user(user_name)
            if len(await self._repo.list_keys(user_name)) >= KEYS_PER_USER:
                raise LimitExceededError(
                    f"Cannot exceed quota for AccessKeysPerUser: {KEYS_PER_USER}"
                )
        key = AccessKey(
            access_key_id=access_key_id(),
            user_name=user_name,
            status="Active",
            created_at=self._clock.now(),
        )
        secret = secret_access_key()
        await self._repo.put_key(key, secret)
        self._changes.changed()
        return key, secret

    async def put_root_key(self, access_key_id: str, secret: str) -> AccessKey:
        """Make ``access_key_id`` an Active key of the account with exactly ``secret``."""
        existing = await self._repo.get_key(access_key_id)
        key = AccessKey(
            access_key_id=access_key_id,
            user_name=None,
            status="Active",
            created_at=existing[0].created_at if existing else self._clock.now(),
        )
        if existing is None or existing[1] != secret or existing[0] != key:
            await self._repo.put_key(key, secret)
            self._changes.changed()
        return key

    async def list_access_keys(self, user_name: str | None) -> list[AccessKey]:
        if user_name is not None:
            await self.get_user(user_name)
        return await self._repo.list_keys(user_name)

    async def all_access_keys(self) -> list[AccessKey]:
        return await self._repo.list_all_keys()

    async def _own_key(self, key_id: str, user_name: str | None) -> AccessKey:
        """The key ``key_id`` of ``user_name`` (IAM: a key named with another owner is not
        found)."""
        if user_name is not None:
            await self.get_user(user_name)
        found = await self._repo.get_key(key_id)
        if found is None or found[0].user_name != user_name:
            raise NoSuchEntityError(f"The Access Key with id {key_id} cannot be found.")
        return found[0]

    async def delete_access_key(self, key_id: str, user_name: str | None) -> None:
        await self._own_key(key_id, user_name)
        await self._repo.delete_key(key_id)
        self._changes.changed()

    async def update_access_key(self, key_id: str, status: str, user_name: str | None) -> None:
        if status not in ("Active", "Inactive"):
            raise IamValidationError(
                f"1 validation error detected: Value '{status}' at 'status' failed to satisfy "
                "constraint: Member must satisfy enum value set: [Active, Inactive]"
            )
        await self._own_key(key_id, user_name)
        checked: KeyStatus = "Active" if status == "Active" else "Inactive"
        await self._repo.set_key_status(key_id, checked)
        self._changes.changed()

    async def access_key_last_used(self, key_id: str) -> AccessKey:
        found = await self._repo.get_key(key_id)
        if found is None:
            raise NoSuchEntityError(f"The Access Key with id {key_id} cannot be found.")
        return found[0]

    # --- roles --------------------------------------------------------------------------

    async def create_role(
        self,
        name: str,
        trust_policy: str,
        *,
        path: str = "/",
        description: str = "",
        max_session_s: int = 3600,
        tags: Tags = (),
    ) -> Role:
        check_name(name, "roleName")
        check_path(path)
        check_description(description)
        check_session_duration(max_session_s)
        check_tags(tags)
        self._check_trust(trust_policy)
        role = Role(
            name=name,
            role_id=unique_id("AROA"),
            path=path,
            arn=f"arn:aws:iam::{self._account}:role{path}{name}",
            trust_policy=trust_policy,
            description=description,
            max_session_s=max_session_s,
            tags=tags,
            created_at=self._clock.now(),
        )
        if not await self._repo.create_role(role):
            raise EntityAlreadyExistsError(f"Role with name {name} already exists.")
        self._changes.changed()
        return role

    @staticmethod
    def _check_trust(document: str) -> None:
        check_document(document, "assumeRolePolicyDocument")
        documents.validate(document, "trust")
        documents.check_size(document, TRUST_POLICY_LIMIT, "ACLSizePerRole")

    async def get_role(self, name: str) -> Role:
        role = await self._repo.get_role(name)
        if role is None:
            raise no_role(name)
        return role

    async def find_role(self, name: str) -> Role | None:
        return await self._repo.get_role(name)

    async def list_roles(
        self, *, path_prefix: str = "/", marker: str | None = None, max_items: int | None = None
    ) -> Page[Role]:
        check_path_prefix(path_prefix)
        roles = [
            r
            for r in await self._repo.list_roles(after=None, limit=1_000_000)
            if r.path.startswith(path_prefix)
        ]
        return page(roles, lambda r: r.name, marker=marker, max_items=max_items)

    async def update_role(
        self, name: str, *, description: str | None = None, max_session_s: int | None = None
    ) -> None:
        if description is not None:
            check_description(description)
        if max_session_s is not None:
            check_session_duration(max_session_s)
        if not await self._repo.update_role(
            name, description=description, max_session_s=max_session_s
        ):
            raise no_role(name)
        self._changes.changed()

    async def update_trust_policy(self, name: str, document: str) -> None:
        self._check_trust(document)
        if not await self._repo.update_role(name, trust_policy=document):
            raise no_role(name)
        self._changes.changed()

    async def delete_role(self, name: str) -> None:
        _deleted(await self._repo.delete_role(name), no_role(name))
        self._changes.changed()

    async def tag_role(self, name: str, tags: Tags) -> None:
        check_tags(tags)
        role = await self.get_role(name)
        await self._repo.update_role(name, tags=merge_tags(role.tags, tags))

    async def untag_role(self, name: str, keys: tuple[str, ...]) -> None:
        role = await self.get_role(name)
        await self._repo.update_role(
            name, tags=tuple((k, v) for k, v in role.tags if k not in keys)
        )
