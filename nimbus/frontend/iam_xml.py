"""IAM's answers as XML (botocore ``iam/2010-05-08`` shapes): users, roles, managed
policies, versions and access keys, and the paging fields every list answer carries (pure)."""

from __future__ import annotations

from typing import TypedDict

from nimbus.frontend import query_form as q
from nimbus.model.iam import AccessKey, ManagedPolicy, OwnerKind, PolicyVersion, Role, User


def tags_xml(tags: tuple[tuple[str, str], ...]) -> str:
    return q.members("Tags", [q.tag("Key", k) + q.tag("Value", v) for k, v in tags])


class Paging(TypedDict):
    marker: str | None
    max_items: int | None


class PathPaging(Paging):
    path_prefix: str


def paging(form: q.Form) -> Paging:
    """A List operation's Marker and MaxItems."""
    return {"marker": form.get("Marker"), "max_items": q.integer(form, "MaxItems")}


def path_paging(form: q.Form) -> PathPaging:
    """A List operation's PathPrefix (``/`` when left out), Marker and MaxItems."""
    return {"path_prefix": form.get("PathPrefix") or "/", **paging(form)}


def listing(name: str, entries: list[str], marker: str | None) -> str:
    """A List operation's answer: ``entries`` as the members of ``name``, then whether there
    is more and from which marker."""
    return q.members(name, entries) + q.truncation(marker)


def owner_field(kind: OwnerKind) -> str:
    """The parameter naming the owner of an inline or attached policy."""
    return "UserName" if kind == "user" else "RoleName"


def user_xml(user: User, *, with_tags: bool) -> str:
    return (
        q.tag("Path", user.path)
        + q.tag("UserName", user.name)
        + q.tag("UserId", user.user_id)
        + q.tag("Arn", user.arn)
        + q.date("CreateDate", user.created_at)
        + (tags_xml(user.tags) if with_tags and user.tags else "")
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
        + (tags_xml(role.tags) if full and role.tags else "")
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
        + (tags_xml(policy.tags) if with_tags and policy.tags else "")
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
