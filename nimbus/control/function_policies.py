"""Lambda resource-based policies: AddPermission, RemovePermission, GetPolicy and the
whole-document Put/Get/DeleteResourcePolicy, on a function, a version or an alias — and the
``ResourcePolicySource`` the authorizer reads them through.

Each function and qualifier has at most one document (qualifier "" is the function itself);
a qualified ARN's policy is its qualifier's, as on AWS ("If you use a qualifier, the invoker
must use the full ARN of that version or alias"). A deleted function, version or alias takes
its policy with it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import orjson

from nimbus.auth.policy import MalformedPolicyError, parse_policy
from nimbus.auth.ports import PolicyDocument
from nimbus.control import permission_rules as rules
from nimbus.control.resolver import AliasName, Latest, Version, classify
from nimbus.errors import (
    InvalidParameterValueError,
    NimbusError,
    PreconditionFailedError,
    ResourceNotFoundError,
    ValidationError,
)
from nimbus.model.arn import Arns, FunctionRef
from nimbus.store.function_policies import FunctionPolicyRepository, StoredPolicy

NOT_FOUND = "The resource you requested does not exist."
# botocore's PolicyResourceArn (PutResourcePolicy and friends), function ARNs only.
_RESOURCE_ARN_RE = re.compile(
    r"^arn:(aws[a-zA-Z-]*)?:lambda:(?P<region>(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d):"
    r"(?P<account>\d{12}):function:(?P<name>[a-zA-Z0-9_-]{1,64})"
    r"(:(?P<qualifier>\$LATEST|[a-zA-Z0-9_-]{1,128}))?$"
)
RESOURCE_ARN_PATTERN = (
    "arn:(aws[a-zA-Z-]*)?:lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1}:\\d{12}:"
    "(function:[a-zA-Z0-9-_]+(:(\\$LATEST(\\.PUBLISHED)?|[a-zA-Z0-9-_])+)?|runtime/[a-zA-Z0-9-_./]+)"
)


class FunctionTargets(Protocol):
    async def exists(self, name: str) -> bool: ...

    async def get_version(self, name: str, version: str = ...) -> object:
        """Raises ResourceNotFoundError ("Function not found: <qualified ARN>")."""
        ...


class AliasTargets(Protocol):
    async def get(self, name: str, alias: str) -> object:
        """Raises ResourceNotFoundError for an unknown function or alias."""
        ...


def _stale() -> PreconditionFailedError:
    return PreconditionFailedError(
        "The Revision Id provided does not match the latest Revision Id. Call the GetPolicy "
        "API to retrieve the latest Revision Id"
    )


def _check_grammar(text: str) -> None:
    """The one policy grammar (IAM's, ``auth.policy``) decides whether a document is a
    resource policy; Lambda reports a malformed one as InvalidParameterValueException."""
    try:
        parse_policy(text, kind="resource")
    except MalformedPolicyError as exc:
        raise InvalidParameterValueError(f"The policy is not valid: {exc.message}") from exc


class FunctionPolicyService:
    def __init__(
        self,
        *,
        repo: FunctionPolicyRepository,
        functions: FunctionTargets,
        aliases: AliasTargets,
        arns: Arns,
    ) -> None:
        self._repo = repo
        self._functions = functions
        self._aliases = aliases
        self._arns = arns
        # (function, qualifier) -> parsed document or None; written through on every change.
        self._cache: dict[tuple[str, str], Mapping[str, Any] | None] = {}
        self._listeners: list[Callable[[], object]] = []

    def on_change(self, listener: Callable[[], object]) -> None:
        """Call ``listener`` after every change of a policy (the authorizer drops its cached
        copies, so that a permission just added or removed applies to the next call)."""
        self._listeners.append(listener)

    def _changed(self) -> None:
        for listener in self._listeners:
            listener()

    # --- AddPermission / RemovePermission / GetPolicy -------------------------------------

    async def add_permission(
        self, name: str, qualifier: str | None, body: Mapping[str, Any], *, revision_id: str | None
    ) -> tuple[str, str]:
        """Add one statement; returns (the statement's JSON text, the new revision id)."""
        target = rules.add_qualifier(qualifier)
        await self._require_target(name, target)
        added = rules.statement(body, self._arns.function(name, target or None))
        current = await self._repo.get(name, target)
        document = orjson.loads(current.document) if current is not None else None
        updated = rules.with_statement(document, added)
        self._check_revision(current, revision_id)
        stored = await self._write(name, target, current, rules.serialize(updated))
        return orjson.dumps(added).decode(), stored.revision_id

    async def remove_permission(
        self, name: str, qualifier: str | None, sid: str, *, revision_id: str | None
    ) -> None:
        target = rules.read_qualifier(qualifier)
        rules.removal_sid(sid)
        await self._require_target(name, target)
        current = await self._repo.get(name, target)
        if current is None:
            raise ResourceNotFoundError(NOT_FOUND)
        self._check_revision(current, revision_id)
        remaining = rules.without_statement(orjson.loads(current.document), sid)
        if remaining is None:
            if not await self._repo.delete(name, target, expect=current.revision_id):
                raise _stale()
            self._cache[(name, target)] = None
            self._changed()
            return
        await self._write(name, target, current, rules.serialize(remaining))

    async def get_policy(self, name: str, qualifier: str | None) -> StoredPolicy:
        target = rules.read_qualifier(qualifier)
        await self._require_target(name, target)
        current = await self._repo.get(name, target)
        if current is None:
            raise ResourceNotFoundError(NOT_FOUND)
        return current

    # --- Put/Get/DeleteResourcePolicy ------------------------------------------------------

    def parse_resource_arn(self, arn: str) -> tuple[str, str]:
        """(function, qualifier) a PolicyResourceArn names; ``$LATEST`` is the function."""
        match = _RESOURCE_ARN_RE.fullmatch(arn)
        if match is None:
            raise ValidationError(
                f"1 validation error detected: Value '{arn}' at 'resourceArn' failed to satisfy "
                f"constraint: Member must satisfy regular expression pattern: "
                f"{RESOURCE_ARN_PATTERN}"
            )
        self._arns.check_owner(
            FunctionRef(
                name=match.group("name"),
                region=match.group("region"),
                account=match.group("account"),
            )
        )
        return match.group("name"), rules.read_qualifier(match.group("qualifier"))

    async def put_resource_policy(
        self, arn: str, policy: Any, *, revision_id: str | None
    ) -> StoredPolicy:
        name, target = self.parse_resource_arn(arn)
        await self._require_target(name, target)
        document = rules.parse_document(policy)
        text = rules.serialize(document)
        _check_grammar(text)
        current = await self._repo.get(name, target)
        self._check_revision(current, revision_id)
        return await self._write(name, target, current, text)

    async def get_resource_policy(self, arn: str) -> StoredPolicy:
        name, target = self.parse_resource_arn(arn)
        return await self.get_policy(name, target or None)

    async def delete_resource_policy(self, arn: str, *, revision_id: str | None) -> None:
        name, target = self.parse_resource_arn(arn)
        await self._require_target(name, target)
        current = await self._repo.get(name, target)
        if current is None:
            raise ResourceNotFoundError(NOT_FOUND)
        self._check_revision(current, revision_id)
        if not await self._repo.delete(name, target, expect=current.revision_id):
            raise _stale()
        self._cache[(name, target)] = None
        self._changed()

    # --- ResourcePolicySource (auth/ports.py) ----------------------------------------------

    async def resource_policy(self, resource_arn: str) -> PolicyDocument | None:
        """The policy of a function, version or alias ARN, or None; never raises for a missing
        or malformed resource (the authorizer then decides on identity policies alone)."""
        try:
            name, target = self.parse_resource_arn(resource_arn)
        except NimbusError:
            return None
        key = (name, target)
        if key in self._cache:
            return self._cache[key]
        stored = await self._repo.get(name, target)
        document = None if stored is None else orjson.loads(stored.document)
        self._cache[key] = document
        return document

    # --- reacting to function changes ------------------------------------------------------

    async def on_function_change(self, name: str) -> None:
        """A deleted function's policies go; so do those of a deleted version or alias."""
        if not await self._functions.exists(name):
            await self._repo.delete_all(name)
            self._forget(name)
            self._changed()
            return
        for qualifier in await self._repo.qualifiers(name):
            if qualifier and not await self._target_exists(name, qualifier):
                await self.qualifier_deleted(name, qualifier)

    async def qualifier_deleted(self, name: str, qualifier: str) -> None:
        """A version or alias of ``name`` is gone: so is its policy (also the hook for the
        alias delete path, which does not notify function listeners)."""
        await self._repo.delete_all(name, qualifier)
        self._cache.pop((name, qualifier), None)
        self._changed()

    # --- internals -------------------------------------------------------------------------

    async def _require_target(self, name: str, qualifier: str) -> None:
        if not await self._functions.exists(name):
            raise ResourceNotFoundError(f"Function not found: {self._arns.function(name)}")
        if not qualifier:
            return
        match classify(qualifier):
            case AliasName(alias):
                await self._aliases.get(name, alias)
            case Version(number):
                await self._functions.get_version(name, number)
            case Latest():
                pass

    async def _target_exists(self, name: str, qualifier: str) -> bool:
        try:
            await self._require_target(name, qualifier)
        except ResourceNotFoundError:
            return False
        return True

    def _check_revision(self, current: StoredPolicy | None, revision_id: str | None) -> None:
        if revision_id is None or revision_id == "":
            return
        if current is None or current.revision_id != revision_id:
            raise _stale()

    async def _write(
        self, name: str, qualifier: str, current: StoredPolicy | None, text: str
    ) -> StoredPolicy:
        stored = StoredPolicy(document=text, revision_id=str(uuid.uuid4()))
        expect = None if current is None else current.revision_id
        if not await self._repo.put(name, qualifier, stored, expect=expect):
            raise _stale()  # changed by another request since it was read
        self._cache[(name, qualifier)] = orjson.loads(text)
        self._changed()
        return stored

    def _forget(self, name: str) -> None:
        for key in [key for key in self._cache if key[0] == name]:
            del self._cache[key]
