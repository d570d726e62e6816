"""IAM's API subset over the query protocol (botocore ``iam/2010-05-08``): form POSTs to
``/`` with ``Action=...``, XML answers in IAM's namespace, policy documents URL-encoded as
IAM sends them. Reached from ``root_api`` when the request is signed for ``iam`` or names an
IAM action."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypedDict

from nimbus.auth.ports import AccessCheck
from nimbus.auth.principal import Principal
from nimbus.errors import InvalidActionError
from nimbus.frontend import query_form as q
from nimbus.frontend.xml_text import xml_text
from nimbus.iam.errors import IamAccessDeniedError, IamValidationError
from nimbus.iam.identities import Identities
from nimbus.iam.policies import Policies
from nimbus.model.iam import AccessKey, ManagedPolicy, OwnerKind, PolicyVersion, Role, User

XMLNS = "https://iam.amazonaws.com/doc/2010-05-08/"
Handler = Callable[[q.Form, Principal], Awaitable[str | None]]


def _tags(tags: tuple[tuple[str, str], ...]) -> str:
    return q.members("Tags", [q.tag("Key", k) + q.tag("Value", v) for k, v in tags])


class _Paging(TypedDict):
    marker: str | None
    max_items: int | None


class _PathPaging(_Paging):
    path_prefix: str


def _paging(form: q.Form) -> _Paging:
    """A List operation's Marker and MaxItems."""
    return {"marker": form.get("Marker"), "max_items": q.integer(form, "MaxItems")}


def _path_paging(form: q.Form) -> _PathPaging:
    """A List operation's PathPrefix (``/`` when left out), Marker and MaxItems."""
    return {"path_prefix": form.get("PathPrefix") or "/", **_paging(form)}


def _listing(name: str, entries: list[str], marker: str | None) -> str:
    """A List operation's answer: ``entries`` as the members of ``name``, then whether there
    is more and from which marker."""
    return q.members(name, entries) + q.truncation(marker)


def _owner_field(kind: OwnerKind) -> str:
    """The parameter naming the owner of an inline or attached policy."""
    return "UserName" if kind == "user" else "RoleName"


def user_xml(user: User, *, with_tags: bool) -> str:
    return (
        q.tag("Path", user.path)
        + q.tag("UserName", user.name)
        + q.tag("UserId", user.user_id)
        + q.tag("Arn", user.arn)
        + q.date("CreateDate", user.created_at)
        + (_tags(user.tags) if with_tags and user.tags else "")
    )


def role_xml(role: Role, *, full: bool) -> str:
    # ListRoles leaves out Tags and RoleLastUsed (IAM API reference, ListRoles).
    return (
        q.tag("Path", role.path)
        + q.tag("RoleName", role.name)
        + q.tag("RoleId", role.role_id)
        + q.tag("Arn", role.arn)
        + q.date("CreateDate", role.created_at)
        + q.document("AssumeRolePolicyDocument", role.trust_policy)
        + (q.tag("Description", role.description) if role.description else "")
        + q.tag("MaxSessionDuration", role.max_session_s)
        + (_tags(role.tags) if full and role.tags else "")
        + ("<RoleLastUsed/>" if full else "")
    )


def policy_xml(policy: ManagedPolicy, *, with_tags: bool = True) -> str:
    return (
        q.tag("PolicyName", policy.name)
        + q.tag("PolicyId", policy.policy_id)
        + q.tag("Arn", policy.arn)
        + q.tag("Path", policy.path)
        + q.tag("DefaultVersionId", policy.default_version)
        + q.tag("AttachmentCount", policy.attachment_count)
        + q.tag("PermissionsBoundaryUsageCount", 0)
        + q.tag("IsAttachable", True)
        + (q.tag("Description", policy.description) if policy.description else "")
        + q.date("CreateDate", policy.created_at)
        + q.date("UpdateDate", policy.updated_at)
        + (_tags(policy.tags) if with_tags and policy.tags else "")
    )


def version_xml(version: PolicyVersion, is_default: bool, *, with_document: bool) -> str:
    return (
        (q.document("Document", version.document) if with_document else "")
        + q.tag("VersionId", version.version_id)
        + q.tag("IsDefaultVersion", is_default)
        + q.date("CreateDate", version.created_at)
    )


def key_xml(key: AccessKey, owner: str) -> str:
    return (
        q.tag("UserName", owner)
        + q.tag("AccessKeyId", key.access_key_id)
        + q.tag("Status", key.status)
        + q.date("CreateDate", key.created_at)
    )


# AWS's answer to an operation on "the calling user" (UserName left out) from credentials
# that are not a user's — an assumed role's, as a function's execution role is.
NOT_A_USER = "Must specify userName when calling with non-User credentials"


class IamApi:
    def __init__(
        self,
        *,
        identities: Identities,
        policies: Policies,
        account: str,
        access: AccessCheck | None = None,
    ) -> None:
        """``access`` decides what the gate cannot know from the request alone (whether the
        caller may see the owner of another's access key); without it only the key's owner
        and the account itself may."""
        self._ids = identities
        self._policies = policies
        self._access = access
        self.account = account
        self.operations: dict[str, Handler] = {
            name: getattr(self, "_" + name) for name in OPERATIONS
        }

    async def call(self, action: str, form: q.Form, caller: Principal, request_id: str) -> str:
        handler = self.operations.get(action)
        if handler is None:
            raise InvalidActionError(f"The action {action} is not valid for this endpoint.")
        return q.response(action, XMLNS, await handler(form, caller), request_id)

    def _own_user(self, form: q.Form, caller: Principal) -> str | None:
        """UserName, or when left out the caller's own (IAM: "the user making the request"):
        a user's name, None for the account itself (root). Any other caller — a role
        session — has no keys of its own and must name the user (AWS's ValidationError),
        never falling back to the account's root keys."""
        name = q.optional(form, "UserName")
        if name is not None:
            return name
        if caller.kind == "user":
            return caller.name
        if caller.is_root:
            return None
        raise IamValidationError(NOT_A_USER)

    # --- users --------------------------------------------------------------------------

    async def _CreateUser(self, form: q.Form, caller: Principal) -> str:
        user = await self._ids.create_user(
            q.required(form, "UserName"), path=form.get("Path") or "/", tags=q.tags(form)
        )
        return f"<User>{user_xml(user, with_tags=True)}</User>"

    async def _GetUser(self, form: q.Form, caller: Principal) -> str:
        name = self._own_user(form, caller)  # a role session must name the user
        if name is None:
            # The account itself (AWS: GetUser with root credentials).
            return (
                f"<User>{q.tag('UserId', self.account)}"
                f"{q.tag('Arn', f'arn:aws:iam::{self.account}:root')}"
                f"{q.date('CreateDate', 0.0)}</User>"
            )
        return f"<User>{user_xml(await self._ids.get_user(name), with_tags=True)}</User>"

    async def _ListUsers(self, form: q.Form, caller: Principal) -> str:
        found = await self._ids.list_users(**_path_paging(form))
        users = [user_xml(u, with_tags=False) for u in found.items]
        return _listing("Users", users, found.marker)

    async def _UpdateUser(self, form: q.Form, caller: Principal) -> None:
        await self._ids.update_user(
            q.required(form, "UserName"),
            new_name=form.get("NewUserName"),
            new_path=form.get("NewPath"),
        )

    async def _DeleteUser(self, form: q.Form, caller: Principal) -> None:
        await self._ids.delete_user(q.required(form, "UserName"))

    async def _TagUser(self, form: q.Form, caller: Principal) -> None:
        await self._ids.tag_user(q.required(form, "UserName"), q.tags(form))

    async def _UntagUser(self, form: q.Form, caller: Principal) -> None:
        await self._ids.untag_user(q.required(form, "UserName"), q.strings(form, "TagKeys"))

    async def _ListUserTags(self, form: q.Form, caller: Principal) -> str:
        user = await self._ids.get_user(q.required(form, "UserName"))
        return _tags(user.tags) + q.tag("IsTruncated", False)

    # --- access keys --------------------------------------------------------------------

    async def _CreateAccessKey(self, form: q.Form, caller: Principal) -> str:
        owner = self._own_user(form, caller)
        key, secret = await self._ids.create_access_key(owner)
        return (
            f"<AccessKey>{key_xml(key, owner or '')}{q.tag('SecretAccessKey', secret)}</AccessKey>"
        )

    async def _ListAccessKeys(self, form: q.Form, caller: Principal) -> str:
        owner = self._own_user(form, caller)
        keys = await self._ids.list_access_keys(owner)
        entries = [key_xml(k, owner or "") for k in keys]
        return q.members("AccessKeyMetadata", entries) + q.tag("IsTruncated", False)

    async def _DeleteAccessKey(self, form: q.Form, caller: Principal) -> None:
        key_id = q.required(form, "AccessKeyId")
        await self._ids.delete_access_key(key_id, self._own_user(form, caller))

    async def _UpdateAccessKey(self, form: q.Form, caller: Principal) -> None:
        await self._ids.update_access_key(
            q.required(form, "AccessKeyId"),
            q.required(form, "Status"),
            self._own_user(form, caller),
        )

    async def _GetAccessKeyLastUsed(self, form: q.Form, caller: Principal) -> str:
        key_id = q.required(form, "AccessKeyId")
        key = await self._ids.access_key_last_used(key_id)
        await self._may_see_owner(caller, key.user_name, key_id)
        # Never used: ServiceName and Region are "N/A" (IAM API reference).
        used = (
            q.date("LastUsedDate", key.last_used_at)
            + q.tag("ServiceName", "N/A" if key.last_used_at is None else "iam")
            + q.tag("Region", "N/A")
        )
        return q.tag("UserName", key.user_name) + f"<AccessKeyLastUsed>{used}</AccessKeyLastUsed>"

    async def _may_see_owner(self, caller: Principal, owner: str | None, key_id: str) -> None:
        """GetAccessKeyLastUsed names the key's owner, and the gate can only authorize it on
        the caller (the request names no user): the owner is told to the key's own user, to
        the account itself, and to a caller allowed iam:GetAccessKeyLastUsed on the owner
        (the user's ARN; the account's for a root key). Anyone else is refused in words that
        do not name the owner."""
        if caller.is_root or (caller.kind == "user" and owner == caller.name):
            return
        if owner is None:
            owner_arn = f"arn:aws:iam::{self.account}:root"
        else:
            owner_arn = (await self._ids.get_user(owner)).arn
        action = "iam:GetAccessKeyLastUsed"
        if self._access is not None and await self._access.allows(caller, action, owner_arn):
            return
        raise IamAccessDeniedError(
            f"User: {caller.arn} is not authorized to perform: {action} on access key {key_id}"
        )

    # --- roles --------------------------------------------------------------------------

    async def _CreateRole(self, form: q.Form, caller: Principal) -> str:
        role = await self._ids.create_role(
            q.required(form, "RoleName"),
            q.required(form, "AssumeRolePolicyDocument"),
            path=form.get("Path") or "/",
            description=form.get("Description", ""),
            max_session_s=q.integer(form, "MaxSessionDuration") or 3600,
            tags=q.tags(form),
        )
        return f"<Role>{role_xml(role, full=False)}{_tags(role.tags) if role.tags else ''}</Role>"

    async def _GetRole(self, form: q.Form, caller: Principal) -> str:
        role = await self._ids.get_role(q.required(form, "RoleName"))
        return f"<Role>{role_xml(role, full=True)}</Role>"

    async def _ListRoles(self, form: q.Form, caller: Principal) -> str:
        found = await self._ids.list_roles(**_path_paging(form))
        roles = [role_xml(r, full=False) for r in found.items]
        return _listing("Roles", roles, found.marker)

    async def _UpdateRole(self, form: q.Form, caller: Principal) -> str:
        await self._ids.update_role(
            q.required(form, "RoleName"),
            description=form.get("Description"),
            max_session_s=q.integer(form, "MaxSessionDuration"),
        )
        return ""

    async def _UpdateAssumeRolePolicy(self, form: q.Form, caller: Principal) -> None:
        await self._ids.update_trust_policy(
            q.required(form, "RoleName"), q.required(form, "PolicyDocument")
        )

    async def _DeleteRole(self, form: q.Form, caller: Principal) -> None:
        await self._ids.delete_role(q.required(form, "RoleName"))

    async def _TagRole(self, form: q.Form, caller: Principal) -> None:
        await self._ids.tag_role(q.required(form, "RoleName"), q.tags(form))

    async def _UntagRole(self, form: q.Form, caller: Principal) -> None:
        await self._ids.untag_role(q.required(form, "RoleName"), q.strings(form, "TagKeys"))

    async def _ListRoleTags(self, form: q.Form, caller: Principal) -> str:
        role = await self._ids.get_role(q.required(form, "RoleName"))
        return _tags(role.tags) + q.tag("IsTruncated", False)

    # --- inline policies ----------------------------------------------------------------

    async def _put_inline(self, kind: OwnerKind, form: q.Form) -> None:
        owner = q.required(form, _owner_field(kind))
        await self._policies.put_inline(
            kind, owner, q.required(form, "PolicyName"), q.required(form, "PolicyDocument")
        )

    async def _get_inline(self, kind: OwnerKind, form: q.Form) -> str:
        field = _owner_field(kind)
        policy = await self._policies.get_inline(
            kind, q.required(form, field), q.required(form, "PolicyName")
        )
        return (
            q.tag(field, policy.owner)
            + q.tag("PolicyName", policy.name)
            + q.document("PolicyDocument", policy.document)
        )

    async def _delete_inline(self, kind: OwnerKind, form: q.Form) -> None:
        await self._policies.delete_inline(
            kind, q.required(form, _owner_field(kind)), q.required(form, "PolicyName")
        )

    async def _list_inline(self, kind: OwnerKind, form: q.Form) -> str:
        found = await self._policies.list_inline(
            kind, q.required(form, _owner_field(kind)), **_paging(form)
        )
        names = [xml_text(n) for n in found.items]
        return _listing("PolicyNames", names, found.marker)

    async def _PutUserPolicy(self, form: q.Form, caller: Principal) -> None:
        await self._put_inline("user", form)

    async def _PutRolePolicy(self, form: q.Form, caller: Principal) -> None:
        await self._put_inline("role", form)

    async def _GetUserPolicy(self, form: q.Form, caller: Principal) -> str:
        return await self._get_inline("user", form)

    async def _GetRolePolicy(self, form: q.Form, caller: Principal) -> str:
        return await self._get_inline("role", form)

    async def _DeleteUserPolicy(self, form: q.Form, caller: Principal) -> None:
        await self._delete_inline("user", form)

    async def _DeleteRolePolicy(self, form: q.Form, caller: Principal) -> None:
        await self._delete_inline("role", form)

    async def _ListUserPolicies(self, form: q.Form, caller: Principal) -> str:
        return await self._list_inline("user", form)

    async def _ListRolePolicies(self, form: q.Form, caller: Principal) -> str:
        return await self._list_inline("role", form)

    # --- managed policies ---------------------------------------------------------------

    async def _CreatePolicy(self, form: q.Form, caller: Principal) -> str:
        policy = await self._policies.create_policy(
            q.required(form, "PolicyName"),
            q.required(form, "PolicyDocument"),
            path=form.get("Path") or "/",
            description=form.get("Description", ""),
            tags=q.tags(form),
        )
        return f"<Policy>{policy_xml(policy)}</Policy>"

    async def _GetPolicy(self, form: q.Form, caller: Principal) -> str:
        policy = await self._policies.get_policy(q.required(form, "PolicyArn"))
        return f"<Policy>{policy_xml(policy)}</Policy>"

    async def _DeletePolicy(self, form: q.Form, caller: Principal) -> None:
        await self._policies.delete_policy(q.required(form, "PolicyArn"))

    async def _ListPolicies(self, form: q.Form, caller: Principal) -> str:
        found = await self._policies.list_policies(
            scope=form.get("Scope") or "All",
            only_attached=q.boolean(form, "OnlyAttached"),
            **_path_paging(form),
        )
        policies = [policy_xml(p, with_tags=False) for p in found.items]
        return _listing("Policies", policies, found.marker)

    async def _CreatePolicyVersion(self, form: q.Form, caller: Principal) -> str:
        set_default = q.boolean(form, "SetAsDefault")
        version = await self._policies.create_version(
            q.required(form, "PolicyArn"),
            q.required(form, "PolicyDocument"),
            set_default=set_default,
        )
        body = version_xml(version, set_default, with_document=False)
        return f"<PolicyVersion>{body}</PolicyVersion>"

    async def _GetPolicyVersion(self, form: q.Form, caller: Principal) -> str:
        version, is_default = await self._policies.get_version(
            q.required(form, "PolicyArn"), q.required(form, "VersionId")
        )
        body = version_xml(version, is_default, with_document=True)
        return f"<PolicyVersion>{body}</PolicyVersion>"

    async def _ListPolicyVersions(self, form: q.Form, caller: Principal) -> str:
        found, default = await self._policies.list_versions(
            q.required(form, "PolicyArn"), **_paging(form)
        )
        versions = [
            version_xml(v, v.version_id == default, with_document=False) for v in found.items
        ]
        return _listing("Versions", versions, found.marker)

    async def _DeletePolicyVersion(self, form: q.Form, caller: Principal) -> None:
        await self._policies.delete_version(
            q.required(form, "PolicyArn"), q.required(form, "VersionId")
        )

    async def _SetDefaultPolicyVersion(self, form: q.Form, caller: Principal) -> None:
        await self._policies.set_default_version(
            q.required(form, "PolicyArn"), q.required(form, "VersionId")
        )

    # --- attachments --------------------------------------------------------------------

    async def _attach(self, kind: OwnerKind, form: q.Form, attach: bool) -> None:
        owner = q.required(form, _owner_field(kind))
        arn = q.required(form, "PolicyArn")
        if attach:
            await self._policies.attach(kind, owner, arn)
        else:
            await self._policies.detach(kind, owner, arn)

    async def _list_attached(self, kind: OwnerKind, form: q.Form) -> str:
        found = await self._policies.list_attached(
            kind, q.required(form, _owner_field(kind)), **_path_paging(form)
        )
        entries = [q.tag("PolicyName", name) + q.tag("PolicyArn", arn) for name, arn in found.items]
        return _listing("AttachedPolicies", entries, found.marker)

    async def _AttachUserPolicy(self, form: q.Form, caller: Principal) -> None:
        await self._attach("user", form, True)

    async def _AttachRolePolicy(self, form: q.Form, caller: Principal) -> None:
        await self._attach("role", form, True)

    async def _DetachUserPolicy(self, form: q.Form, caller: Principal) -> None:
        await self._attach("user", form, False)

    async def _DetachRolePolicy(self, form: q.Form, caller: Principal) -> None:
        await self._attach("role", form, False)

    async def _ListAttachedUserPolicies(self, form: q.Form, caller: Principal) -> str:
        return await self._list_attached("user", form)

    async def _ListAttachedRolePolicies(self, form: q.Form, caller: Principal) -> str:
        return await self._list_attached("role", form)


OPERATIONS: frozenset[str] = frozenset(
    name[1:] for name in vars(IamApi) if name.startswith("_") and name[1:2].isupper()
)
