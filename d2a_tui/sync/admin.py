"""Server administration: users, device enrolment and revocation, token checks.

Tokens are random (256 bits) and stored only as SHA-256 hashes: a slow password hash buys
nothing for secrets nobody chose, and a fast one keeps every request's check cheap.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, func, select, update

from d2a_tui.domain.errors import InvalidInput, NotAllowed, NotFound
from d2a_tui.domain.ids import uuid7
from d2a_tui.storage.models import Organisation, table_of
from d2a_tui.sync.ingest import ROLES, device_table, user_table
from d2a_tui.sync.protocol import EnrolResponse

organisation_table = table_of(Organisation)
ENROL_PREFIX = "d2ae_"
TOKEN_PREFIX = "d2a_"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", ".", text.strip().lower()).strip(".")[:64]


@dataclass(frozen=True, slots=True)
class DeviceContext:
    """The authenticated caller of a request."""

    device_id: str
    user_id: str
    name: str
    role: str
    organisation_id: str | None


def add_user(
    engine: Engine,
    name: str,
    role: str,
    organisation: str | None = None,
    user_id: str | None = None,
) -> str:
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    user_id = user_id or slug(name)
    if not user_id:
        raise InvalidInput("a user needs a name")
    with engine.begin() as connection:
        organisation_id = None
        if organisation:
            organisation_id = slug(organisation)
            known = connection.execute(
                select(organisation_table.c.id).where(organisation_table.c.id == organisation_id)
            ).first()
            if known is None:
                connection.execute(
                    organisation_table.insert().values(id=organisation_id, name=organisation)
                )
        existing = connection.execute(
            select(user_table.c.id).where(user_table.c.id == user_id)
        ).first()
        values = {"name": name, "role": role, "organisation_id": organisation_id}
        if existing is None:
            connection.execute(user_table.insert().values(id=user_id, **values))
        else:
            # Re-running add-user changes the role: the server re-checks it on every mutation.
            connection.execute(
                update(user_table).where(user_table.c.id == user_id).values(**values)
            )
    return user_id


def find_user(engine: Engine, reference: str) -> str:
    """A user's id from their id or their display name ("Ann Co"), which people type first."""
    wanted = reference.strip()
    with engine.connect() as connection:
        if connection.execute(select(user_table.c.id).where(user_table.c.id == wanted)).first():
            return wanted
        named = (
            connection.execute(
                select(user_table.c.id)
                .where(func.lower(user_table.c.name) == wanted.lower())
                .order_by(user_table.c.id)
                .limit(6)
            )
            .scalars()
            .all()
        )
    if len(named) == 1:
        return str(named[0])
    if named:
        raise InvalidInput(
            f"{len(named) if len(named) < 6 else 'several'} users are named {wanted!r} "
            f"({', '.join(named[:5])}): give --user the id of the one you mean"
        )
    raise NotFound(
        f"no user with the id or name {wanted!r}: add them with `d2a server add-user` first "
        "(`d2a server devices` lists the users who have devices)"
    )


def enrol_device(engine: Engine, user_id: str, label: str | None = None) -> tuple[str, str]:
    """A new device for `user_id` and its one-time enrolment token (shown once, never stored)."""
    token = ENROL_PREFIX + secrets.token_urlsafe(32)
    device_id = uuid7()
    with engine.begin() as connection:
        if (
            connection.execute(select(user_table.c.id).where(user_table.c.id == user_id)).first()
            is None
        ):
            raise NotFound(f"no user {user_id!r}: add them with `d2a server add-user` first")
        connection.execute(
            device_table.insert().values(
                id=device_id,
                user_id=user_id,
                label=label,
                enrol_hash=token_hash(token),
                created_at=datetime.now(UTC),
                next_seq=1,
            )
        )
    return device_id, token


def redeem(engine: Engine, enrol_token: str, label: str | None) -> EnrolResponse:
    """Swap a one-time enrolment token for the device's long-lived token."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with engine.begin() as connection:
        row = connection.execute(
            select(device_table, user_table.c.name, user_table.c.role)
            .join(user_table, user_table.c.id == device_table.c.user_id)
            .where(device_table.c.enrol_hash == token_hash(enrol_token))
        ).first()
        if row is None or row.revoked_at is not None:
            raise NotAllowed("this enrolment token is unknown, used already, or revoked")
        # Clearing enrol_hash makes the enrolment token single-use.
        done = connection.execute(
            update(device_table)
            .where(device_table.c.id == row.id, device_table.c.enrol_hash == row.enrol_hash)
            .values(
                enrol_hash=None,
                token_hash=token_hash(token),
                enrolled_at=datetime.now(UTC),
                label=label or row.label,
            )
        )
        if done.rowcount != 1:
            raise NotAllowed("this enrolment token was used already")
    return EnrolResponse(
        device_id=row.id, token=token, user_id=row.user_id, name=row.name, role=row.role
    )


def authenticate(engine: Engine, token: str) -> DeviceContext | str:
    """The caller for `token`, or the machine-readable reason it is refused."""
    with engine.connect() as connection:
        row = connection.execute(
            select(
                device_table.c.id,
                device_table.c.revoked_at,
                user_table.c.id.label("user_id"),
                user_table.c.name,
                user_table.c.role,
                user_table.c.organisation_id,
            )
            .join(user_table, user_table.c.id == device_table.c.user_id)
            .where(device_table.c.token_hash == token_hash(token))
        ).first()
    if row is None:
        return "bad_token"
    if row.revoked_at is not None:
        return "revoked"
    return DeviceContext(row.id, row.user_id, row.name, row.role, row.organisation_id)


def revoke_device(engine: Engine, device_id: str) -> None:
    with engine.begin() as connection:
        done = connection.execute(
            update(device_table)
            .where(device_table.c.id == device_id, device_table.c.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
        )
    if done.rowcount != 1:
        raise NotFound(f"no enrolled device {device_id} (or it is revoked already)")


def list_devices(engine: Engine) -> list[dict[str, object]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                device_table.c.id,
                device_table.c.user_id,
                device_table.c.label,
                device_table.c.created_at,
                device_table.c.enrolled_at,
                device_table.c.revoked_at,
                device_table.c.last_seen_at,
                device_table.c.next_seq,
            ).order_by(device_table.c.created_at)
        ).all()
    return [dict(row._mapping) for row in rows]
