"""IAM's identities in the SQL store: access keys, users and roles (revision 0003's tables;
their policies are in ``store.iam_policies``).

Access-key secrets are stored sealed with the node key, the key id as associated data, so a
copy of the database alone yields no secret and a sealed secret moved to another row does not
open. Checks that must hold at the moment of a write (a name still free, nothing left attached
to what is deleted) run in the write's own transaction."""

from __future__ import annotations

from typing import Literal

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from nimbus.auth.node_key import NodeKey, SealedValueError
from nimbus.model.iam import (
    AccessKey,
    KeyStatus,
    OwnerKind,
    Role,
    Tags,
    User,
)
from nimbus.store.schema import (
    access_keys,
    iam_attachments,
    iam_inline_policies,
    iam_roles,
    iam_users,
)

# Why a delete was refused (IAM's DeleteConflict), or that there was nothing to delete.
DeleteOutcome = Literal["deleted", "missing", "keys", "inline", "attached"]


def tags_json(tags: Tags) -> str:
    return orjson.dumps([{"Key": k, "Value": v} for k, v in tags]).decode()


def tags_of(text: str) -> Tags:
    return tuple((t["Key"], t["Value"]) for t in orjson.loads(text))


async def name_taken(conn: AsyncConnection, table: sa.Table, name: str) -> bool:
    # IAM: "names are not distinguished by case" — Bob and bob cannot both exist.
    found = await conn.execute(
        sa.select(table.c.name).where(sa.func.lower(table.c.name) == name.lower())
    )
    return found.first() is not None


async def insert_named(conn: AsyncConnection, table: sa.Table, **values: object) -> bool:
    """Insert the row of ``values`` into ``table`` unless its ``name`` is taken (then False,
    nothing written): the check and the insert in ``conn``'s one transaction."""
    if await name_taken(conn, table, str(values["name"])):
        return False
    await conn.execute(table.insert().values(**values))
    return True


def _user(row: sa.Row[tuple[object, ...]], account: str) -> User:
    m = row._mapping
    return User(
        name=m["name"],
        user_id=m["user_id"],
        path=m["path"],
        arn=f"arn:aws:iam::{account}:user{m['path']}{m['name']}",
        tags=tags_of(m["tags"]),
        created_at=m["created_at"],
    )


def _role(row: sa.Row[tuple[object, ...]], account: str) -> Role:
    m = row._mapping
    return Role(
        name=m["name"],
        role_id=m["role_id"],
        path=m["path"],
        arn=f"arn:aws:iam::{account}:role{m['path']}{m['name']}",
        trust_policy=m["trust_policy"],
        description=m["description"],
        max_session_s=m["max_session_s"],
        tags=tags_of(m["tags"]),
        created_at=m["created_at"],
    )


def _key(row: sa.Row[tuple[object, ...]]) -> AccessKey:
    m = row._mapping
    return AccessKey(
        access_key_id=m["access_key_id"],
        user_name=m["user_name"],
        status=m["status"],
        created_at=m["created_at"],
        last_used_at=m["last_used_at"],
    )


class IdentityRepository:
    def __init__(self, engine: AsyncEngine, node_key: NodeKey, *, account: str) -> None:
        self._engine = engine
        self._key = node_key
        self._account = account

    # --- access keys --------------------------------------------------------------------

    async def put_key(self, key: AccessKey, secret: str) -> None:
        """Insert ``key`` or replace the key of that id (the admin key set from settings)."""
        sealed = self._key.seal(secret.encode(), key.access_key_id.encode())
        values = {
            "secret": sealed,
            "user_name": key.user_name,
            "status": key.status,
            "created_at": key.created_at,
            "last_used_at": key.last_used_at,
        }
        async with self._engine.begin() as conn:
            done = await conn.execute(
                access_keys.update()
                .where(access_keys.c.access_key_id == key.access_key_id)
                .values(**values)
            )
            if done.rowcount == 0:
                await conn.execute(
                    access_keys.insert().values(access_key_id=key.access_key_id, **values)
                )

    async def get_key(self, access_key_id: str) -> tuple[AccessKey, str] | None:
        """The key and its secret; None when unknown (or sealed under another node key)."""
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(access_keys).where(access_keys.c.access_key_id == access_key_id)
                )
            ).first()
        if row is None:
            return None
        try:
            secret = self._key.open(row.secret, access_key_id.encode()).decode()
        except SealedValueError:
            return None  # a key the node key cannot open verifies nothing
        return _key(row), secret

    async def list_keys(self, user_name: str | None) -> list[AccessKey]:
        """The keys of ``user_name`` (None: the account's own keys), oldest first."""
        owner = (
            access_keys.c.user_name.is_(None)
            if user_name is None
            else access_keys.c.user_name == user_name
        )
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                sa.select(access_keys).where(owner).order_by(access_keys.c.created_at)
            )
            return [_key(row) for row in rows]

    async def list_all_keys(self) -> list[AccessKey]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(sa.select(access_keys).order_by(access_keys.c.created_at))
            return [_key(row) for row in rows]

    async def delete_key(self, access_key_id: str) -> bool:
        async with self._engine.begin() as conn:
            done = await conn.execute(
                access_keys.delete().where(access_keys.c.access_key_id == access_key_id)
            )
        return bool(done.rowcount)

    async def set_key_status(self, access_key_id: str, status: KeyStatus) -> bool:
        async with self._engine.begin() as conn:
            done = await conn.execute(
                access_keys.update()
                .where(access_keys.c.access_key_id == access_key_id)
                .values(status=status)
            )
        return bool(done.rowcount)

    async def touch_key(self, access_key_id: str, now: float) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                access_keys.update()
                .where(access_keys.c.access_key_id == access_key_id)
                .values(last_used_at=now)
            )

    # --- users --------------------------------------------------------------------------

    async def create_user(self, user: User) -> bool:
        """False if the name is taken (IAM names are unique case-insensitively)."""
        async with self._engine.begin() as conn:
            return await insert_named(
                conn,
                iam_users,
                name=user.name,
                user_id=user.user_id,
                path=user.path,
                tags=tags_json(user.tags),
                created_at=user.created_at,
            )

    async def get_user(self, name: str) -> User | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(sa.select(iam_users).where(iam_users.c.name == name))).first()
        return None if row is None else _user(row, self._account)

    async def list_users(self, *, after: str | None, limit: int) -> list[User]:
        query = sa.select(iam_users).order_by(iam_users.c.name).limit(limit)
        if after is not None:
            query = query.where(iam_users.c.name > after)
        async with self._engine.connect() as conn:
            return [_user(row, self._account) for row in await conn.execute(query)]

    async def update_user(self, name: str, *, new_name: str, new_path: str) -> bool | None:
        """Rename/move a user with everything that names it; None if it does not exist,
        False if ``new_name`` is another user's."""
        async with self._engine.begin() as conn:
            exists = await conn.execute(sa.select(iam_users.c.name).where(iam_users.c.name == name))
            if exists.first() is None:
                return None
            if new_name.lower() != name.lower() and await self._name_taken(
                conn, iam_users, new_name
            ):
                return False
            await conn.execute(
                iam_users.update()
                .where(iam_users.c.name == name)
                .values(name=new_name, path=new_path)
            )
            if new_name != name:
                await conn.execute(
                    access_keys.update()
                    .where(access_keys.c.user_name == name)
                    .values(user_name=new_name)
                )
                for table in (iam_inline_policies, iam_attachments):
                    await conn.execute(
                        table.update()
                        .where(table.c.kind == "user", table.c.owner == name)
                        .values(owner=new_name)
                    )
        return True

    async def set_user_tags(self, name: str, tags: Tags) -> bool:
        async with self._engine.begin() as conn:
            done = await conn.execute(
                iam_users.update().where(iam_users.c.name == name).values(tags=tags_json(tags))
            )
        return bool(done.rowcount)

    async def delete_user(self, name: str) -> DeleteOutcome:
        # AWS refuses to delete a user that still has keys or policies (DeleteConflict).
        async with self._engine.begin() as conn:
            if (
                await conn.execute(sa.select(iam_users.c.name).where(iam_users.c.name == name))
            ).first() is None:
                return "missing"
            if (
                await conn.execute(
                    sa.select(access_keys.c.access_key_id).where(access_keys.c.user_name == name)
                )
            ).first() is not None:
                return "keys"
            blocked = await self._owner_blocked(conn, "user", name)
            if blocked != "deleted":
                return blocked
            await conn.execute(iam_users.delete().where(iam_users.c.name == name))
        return "deleted"

    # --- roles --------------------------------------------------------------------------

    async def create_role(self, role: Role) -> bool:
        async with self._engine.begin() as conn:
            return await insert_named(
                conn,
                iam_roles,
                name=role.name,
                role_id=role.role_id,
                path=role.path,
                trust_policy=role.trust_policy,
                description=role.description,
                max_session_s=role.max_session_s,
                tags=tags_json(role.tags),
                created_at=role.created_at,
            )

    async def get_role(self, name: str) -> Role | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(sa.select(iam_roles).where(iam_roles.c.name == name))).first()
        return None if row is None else _role(row, self._account)

    async def list_roles(self, *, after: str | None, limit: int) -> list[Role]:
        query = sa.select(iam_roles).order_by(iam_roles.c.name).limit(limit)
        if after is not None:
            query = query.where(iam_roles.c.name > after)
        async with self._engine.connect() as conn:
            return [_role(row, self._account) for row in await conn.execute(query)]

    async def update_role(
        self,
        name: str,
        *,
        description: str | None = None,
        max_session_s: int | None = None,
        trust_policy: str | None = None,
        tags: Tags | None = None,
    ) -> bool:
        values: dict[str, object] = {}
        if description is not None:
            values["description"] = description
        if max_session_s is not None:
            values["max_session_s"] = max_session_s
        if trust_policy is not None:
            values["trust_policy"] = trust_policy
        if tags is not None:
            values["tags"] = tags_json(tags)
        if not values:
            return await self.get_role(name) is not None
        async with self._engine.begin() as conn:
            done = await conn.execute(
                iam_roles.update().where(iam_roles.c.name == name).values(**values)
            )
        return bool(done.rowcount)

    async def delete_role(self, name: str) -> DeleteOutcome:
        async with self._engine.begin() as conn:
            if (
                await conn.execute(sa.select(iam_roles.c.name).where(iam_roles.c.name == name))
            ).first() is None:
                return "missing"
            blocked = await self._owner_blocked(conn, "role", name)
            if blocked != "deleted":
                return blocked
            await conn.execute(iam_roles.delete().where(iam_roles.c.name == name))
        return "deleted"

    # --- helpers ------------------------------------------------------------------------

    @staticmethod
    async def _name_taken(conn: AsyncConnection, table: sa.Table, name: str) -> bool:
        return await name_taken(conn, table, name)

    @staticmethod
    async def _owner_blocked(conn: AsyncConnection, kind: OwnerKind, name: str) -> DeleteOutcome:
        blockers: tuple[tuple[sa.Table, DeleteOutcome], ...] = (
            (iam_inline_policies, "inline"),
            (iam_attachments, "attached"),
        )
        for table, reason in blockers:
            found = await conn.execute(
                sa.select(table.c.owner).where(table.c.kind == kind, table.c.owner == name)
            )
            if found.first() is not None:
                return reason
        return "deleted"
