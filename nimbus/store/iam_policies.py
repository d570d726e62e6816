"""IAM's policies in the SQL store: managed policies with their versions, inline policies of
users and roles, and attachments (revision 0003's tables). Checks that must hold at the moment
of a write (a name still free, a version limit, an attachment limit) run in the write's own
transaction."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from nimbus.model.iam import InlinePolicy, ManagedPolicy, OwnerKind, PolicyVersion
from nimbus.store.identity import insert_named, tags_json, tags_of
from nimbus.store.schema import (
    iam_attachments,
    iam_inline_policies,
    iam_managed_policies,
    iam_policy_versions,
)


def _policy(row: sa.Row[tuple[object, ...]], attachments: int) -> ManagedPolicy:
    m = row._mapping
    return ManagedPolicy(
        arn=m["arn"],
        name=m["name"],
        policy_id=m["policy_id"],
        path=m["path"],
        description=m["description"],
        default_version=m["default_version"],
        next_version=m["next_version"],
        tags=tags_of(m["tags"]),
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        attachment_count=attachments,
    )


class IamPolicyRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    # --- inline policies ----------------------------------------------------------------

    async def put_inline(self, policy: InlinePolicy) -> None:
        key = self._inline_key(policy.kind, policy.owner, policy.name)
        async with self._engine.begin() as conn:
            await conn.execute(iam_inline_policies.delete().where(*key))
            await conn.execute(
                iam_inline_policies.insert().values(
                    kind=policy.kind,
                    owner=policy.owner,
                    name=policy.name,
                    document=policy.document,
                )
            )

    async def get_inline(self, kind: OwnerKind, owner: str, name: str) -> InlinePolicy | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(iam_inline_policies).where(*self._inline_key(kind, owner, name))
                )
            ).first()
        if row is None:
            return None
        return InlinePolicy(kind=kind, owner=owner, name=row.name, document=row.document)

    async def list_inline(self, kind: OwnerKind, owner: str) -> list[InlinePolicy]:
        query = (
            sa.select(iam_inline_policies)
            .where(iam_inline_policies.c.kind == kind, iam_inline_policies.c.owner == owner)
            .order_by(iam_inline_policies.c.name)
        )
        async with self._engine.connect() as conn:
            return [
                InlinePolicy(kind=kind, owner=owner, name=row.name, document=row.document)
                for row in await conn.execute(query)
            ]

    async def delete_inline(self, kind: OwnerKind, owner: str, name: str) -> bool:
        async with self._engine.begin() as conn:
            done = await conn.execute(
                iam_inline_policies.delete().where(*self._inline_key(kind, owner, name))
            )
        return bool(done.rowcount)

    # --- managed policies, versions, attachments ---------------------------------------

    async def create_policy(self, policy: ManagedPolicy, first: PolicyVersion) -> bool:
        """False if a policy of that name exists (names are unique across paths)."""
        async with self._engine.begin() as conn:
            if not await insert_named(
                conn,
                iam_managed_policies,
                arn=policy.arn,
                name=policy.name,
                policy_id=policy.policy_id,
                path=policy.path,
                description=policy.description,
                default_version=policy.default_version,
                next_version=policy.next_version,
                tags=tags_json(policy.tags),
                created_at=policy.created_at,
                updated_at=policy.updated_at,
            ):
                return False
            await conn.execute(iam_policy_versions.insert().values(**_version_values(first)))
        return True

    async def get_policy(self, arn: str) -> ManagedPolicy | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(iam_managed_policies).where(iam_managed_policies.c.arn == arn)
                )
            ).first()
            if row is None:
                return None
            return _policy(row, await self._attachments(conn, arn))

    async def list_policies(self) -> list[ManagedPolicy]:
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(iam_managed_policies).order_by(iam_managed_policies.c.name)
                )
            ).all()
            counts = await self.attachment_counts(conn)
        return [_policy(row, counts.get(row.arn, 0)) for row in rows]

    async def delete_policy(self, arn: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(iam_policy_versions.delete().where(iam_policy_versions.c.arn == arn))
            await conn.execute(
                iam_managed_policies.delete().where(iam_managed_policies.c.arn == arn)
            )

    async def add_version(
        self, version: PolicyVersion, *, set_default: bool, limit: int
    ) -> PolicyVersion | None:
        """Store ``version`` under the policy's next number; None at ``limit`` versions."""
        async with self._engine.begin() as conn:
            policy = (
                await conn.execute(
                    sa.select(iam_managed_policies.c.next_version).where(
                        iam_managed_policies.c.arn == version.arn
                    )
                )
            ).one()
            count = (
                await conn.execute(
                    sa.select(sa.func.count()).where(iam_policy_versions.c.arn == version.arn)
                )
            ).scalar_one()
            if count >= limit:
                return None
            number = int(policy.next_version)
            stored = PolicyVersion(
                arn=version.arn,
                version_id=f"v{number}",
                document=version.document,
                created_at=version.created_at,
            )
            await conn.execute(iam_policy_versions.insert().values(**_version_values(stored)))
            values: dict[str, object] = {"next_version": number + 1}
            if set_default:
                values.update(default_version=stored.version_id, updated_at=version.created_at)
            await conn.execute(
                iam_managed_policies.update()
                .where(iam_managed_policies.c.arn == version.arn)
                .values(**values)
            )
        return stored

    async def get_version(self, arn: str, version_id: str) -> PolicyVersion | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(iam_policy_versions).where(
                        iam_policy_versions.c.arn == arn,
                        iam_policy_versions.c.version_id == version_id,
                    )
                )
            ).first()
        return None if row is None else _version(row)

    async def list_versions(self, arn: str) -> list[PolicyVersion]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                sa.select(iam_policy_versions).where(iam_policy_versions.c.arn == arn)
            )
            versions = [_version(row) for row in rows]
        return sorted(versions, key=lambda v: -int(v.version_id[1:]))  # newest first, as IAM

    async def delete_version(self, arn: str, version_id: str) -> bool:
        async with self._engine.begin() as conn:
            done = await conn.execute(
                iam_policy_versions.delete().where(
                    iam_policy_versions.c.arn == arn,
                    iam_policy_versions.c.version_id == version_id,
                )
            )
        return bool(done.rowcount)

    async def set_default_version(self, arn: str, version_id: str, now: float) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                iam_managed_policies.update()
                .where(iam_managed_policies.c.arn == arn)
                .values(default_version=version_id, updated_at=now)
            )

    async def attach(self, kind: OwnerKind, owner: str, policy_arn: str, *, limit: int) -> bool:
        """Attach (idempotent, as IAM); False when ``owner`` already has ``limit`` others."""
        async with self._engine.begin() as conn:
            attached = await self._attached(conn, kind, owner)
            if policy_arn in attached:
                return True
            if len(attached) >= limit:
                return False
            await conn.execute(
                iam_attachments.insert().values(kind=kind, owner=owner, policy_arn=policy_arn)
            )
        return True

    async def detach(self, kind: OwnerKind, owner: str, policy_arn: str) -> bool:
        async with self._engine.begin() as conn:
            done = await conn.execute(
                iam_attachments.delete().where(
                    iam_attachments.c.kind == kind,
                    iam_attachments.c.owner == owner,
                    iam_attachments.c.policy_arn == policy_arn,
                )
            )
        return bool(done.rowcount)

    async def attached(self, kind: OwnerKind, owner: str) -> list[str]:
        async with self._engine.connect() as conn:
            return await self._attached(conn, kind, owner)

    async def default_documents(self, arns: Sequence[str]) -> dict[str, str]:
        """The default version's document of each customer managed policy in ``arns``."""
        if not arns:
            return {}
        p, v = iam_managed_policies, iam_policy_versions
        query = (
            sa.select(p.c.arn, v.c.document)
            .join(v, sa.and_(v.c.arn == p.c.arn, v.c.version_id == p.c.default_version))
            .where(p.c.arn.in_(list(arns)))
        )
        async with self._engine.connect() as conn:
            return {row.arn: row.document for row in await conn.execute(query)}

    async def attachment_counts(self, conn: AsyncConnection | None = None) -> dict[str, int]:
        query = sa.select(iam_attachments.c.policy_arn, sa.func.count()).group_by(
            iam_attachments.c.policy_arn
        )
        if conn is None:
            async with self._engine.connect() as own:
                rows = (await own.execute(query)).all()
        else:
            rows = (await conn.execute(query)).all()
        return {str(row[0]): int(row[1]) for row in rows}

    # --- helpers ------------------------------------------------------------------------

    @staticmethod
    def _inline_key(kind: OwnerKind, owner: str, name: str) -> tuple[sa.ColumnElement[bool], ...]:
        t = iam_inline_policies
        return (t.c.kind == kind, t.c.owner == owner, t.c.name == name)

    @staticmethod
    async def _attached(conn: AsyncConnection, kind: OwnerKind, owner: str) -> list[str]:
        rows = await conn.execute(
            sa.select(iam_attachments.c.policy_arn)
            .where(iam_attachments.c.kind == kind, iam_attachments.c.owner == owner)
            .order_by(iam_attachments.c.policy_arn)
        )
        return [str(row.policy_arn) for row in rows]

    @staticmethod
    async def _attachments(conn: AsyncConnection, arn: str) -> int:
        count = await conn.execute(
            sa.select(sa.func.count()).where(iam_attachments.c.policy_arn == arn)
        )
        return int(count.scalar_one())


def _version_values(version: PolicyVersion) -> dict[str, object]:
    return {
        "arn": version.arn,
        "version_id": version.version_id,
        "document": version.document,
        "created_at": version.created_at,
    }


def _version(row: sa.Row[tuple[object, ...]]) -> PolicyVersion:
    return PolicyVersion(
        arn=row.arn, version_id=row.version_id, document=row.document, created_at=row.created_at
    )
