"""IAM's API subset over the query protocol (botocore ``iam/2010-05-08``): form POSTs to
``/`` with ``Action=...``, XML answers in IAM's namespace, policy documents URL-encoded as
IAM sends them. Reached from ``root_api`` when the request is signed for ``iam`` or names an
IAM action."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nimbus.auth.ports import AccessCheck
from nimbus.auth.principal import Principal
from nimbus.errors import InvalidActionError
from nimbus.frontend import query_form as q
from nimbus.frontend.iam_xml import (
    key_xml,
    listing,
    owner_field,
    paging,
    path_paging,
    policy_xml,
    role_xml,
    tags_xml,
    user_xml,
    version_xml,
)
from nimbus.frontend.xml_text import xml_text
from nimbus.iam.errors import IamAccessDeniedError, IamValidationError
from nimbus.iam.identities import Identities
from nimbus.iam.policies import Policies
from nimbus.model.iam import OwnerKind

XMLNS = "https://iam.amazonaws.com/doc/2010-05-08/"
Handler = Callable[[q.Form, Principal], Awaitable[str | None]]


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
        found = await self._ids.list_users(**path_paging(form))
        users = [user_xml(u, with_tags=False) for u in found.items]
        return listing("Users", users, found.marker)

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
        return tags_xml(user.tags) + q.tag("IsTruncated", False)

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
        return (
            f"<Role>{role_xml(role, full=False)}{tags_xml(role.tags) if role.tags else ''}</Role>"
        )

    async def _GetRole(self, form: q.Form, caller: Principal) -> str:
        role = await self._ids.get_role(q.required(form, "RoleName"))
        return f"<Role>{role_xml(role, full=True)}</Role>"

    async def _ListRoles(self, form: q.Form, caller: Principal) -> str:
        found = await self._ids.list_roles(**path_paging(form))
        roles = [role_xml(r, full=False) for r in found.items]
        return listing("Roles", roles, found.marker)

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
        return tags_xml(role.tags) + q.tag("IsTruncated", False)

    # --- inline policies ----------------------------------------------------------------

    async def _put_inline(self, kind: OwnerKind, form: q.Form) -> None:
        owner = q.required(form, owner_field(kind))
        await self._policies.put_inline(
            kind, owner, q.required(form, "PolicyName"), q.required(form, "PolicyDocument")
        )

    async def _get_inline(self, kind: OwnerKind, form: q.Form) -> str:
        field = owner_field(kind)
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
            kind, q.required(form, owner_field(kind)), q.required(form, "PolicyName")
        )

    async def _list_inline(self, kind: OwnerKind, form: q.Form) -> str:
        found = await self._policies.list_inline(
            kind, q.required(form, owner_field(kind)), **paging(form)
        )
        names = [xml_text(n) for n in found.items]
        return listing("PolicyNames", names, found.marker)

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
            **path_paging(form),
        )
        policies = [policy_xml(p, with_tags=False) for p in found.items]
        return listing("Policies", policies, found.marker)

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
            q.required(form, "PolicyArn"), **paging(form)
        )
        versions = [
            version_xml(v, v.version_id == default, with_document=False) for v in found.items
        ]
        return listing("Versions", versions, found.marker)

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
        owner = q.required(form, owner_field(kind))
        arn = q.required(form, "PolicyArn")
        if attach:
            await self._policies.attach(kind, owner, arn)
        else:
            await self._policies.detach(kind, owner, arn)

    async def _list_attached(self, kind: OwnerKind, form: q.Form) -> str:
        found = await self._policies.list_attached(
            kind, q.required(form, owner_field(kind)), **path_paging(form)
        )
        entries = [q.tag("PolicyName", name) + q.tag("PolicyArn", arn) for name, arn in found.items]
        return listing("AttachedPolicies", entries, found.marker)

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
