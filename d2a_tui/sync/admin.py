"""Server administration: users, device enrolment and revocation, token checks.

Tokens are random (256 bits) and stored only as SHA-256 hashes: a slow password hash buys
nothing for secrets nobody chose, and a fast one keeps every request's check cheap.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, select, update

from d2a_tui.domain.errors import InvalidInput, NotAllowed, NotFound
from d2a_tui.domain.ids import uuid7
from d2a_tui.domain.services import ORGANISATION_KINDS, find_organisation, organisation_id
from d2a_tui.storage.journeys import patient_table
from d2a_tui.storage.models import (
    HubLocality,
    Organisation,
    ServerMark,
    Service,
    UserLocality,
    table_of,
)
from d2a_tui.sync.ingest import device_table, user_table
from d2a_tui.sync.protocol import EnrolResponse
from d2a_tui.sync.rules import ROLES

organisation_table = table_of(Organisation)
locality_table = table_of(HubLocality)
user_locality_table = table_of(UserLocality)
service_table = table_of(Service)
server_mark_table = table_of(ServerMark)
ENROL_PREFIX = "d2ae_"
TOKEN_PREFIX = "d2a_"
TOKEN_DAYS = 90  # a device token's life; the device swaps it for a new one before the end


def new_device_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


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
    token_expires_at: datetime | None = None


def mark_server(engine: Engine, now: datetime | None = None) -> None:
    """Mark the database as a server's (`d2a serve` does, when it starts)."""
    with engine.begin() as connection:
        if connection.execute(select(server_mark_table.c.id)).first() is None:
            connection.execute(
                server_mark_table.insert().values(id=1, first_served_at=now or datetime.now(UTC))
            )


def is_server_database(engine: Engine) -> bool:
    with engine.connect() as connection:
        return connection.execute(select(server_mark_table.c.id)).first() is not None


def known_localities(connection: Connection) -> set[str]:
    """The localities users may be given: those added with `d2a server add-locality`, and
    those the hub's services and patients already name."""
    names = set(connection.execute(select(locality_table.c.name)).scalars())
    for column in (service_table.c.locality, patient_table.c.locality):
        names |= set(
            connection.execute(select(column).where(column.is_not(None)).distinct()).scalars()
        )
    return names


def add_locality(engine: Engine, name: str) -> str:
    name = name.strip()
    if not name or len(name) > 64:
        raise InvalidInput("a locality needs a name of 1 to 64 characters")
    with engine.begin() as connection:
        if name not in known_localities(connection):
            connection.execute(locality_table.insert().values(name=name))
    return name


def _organisation_id(connection: Connection, organisation: str) -> str:
    """The stored id of a known organisation; an unknown one is refused, never created by a
    typo (a second organisation would leave a provider's board empty without a word)."""
    known = connection.execute(select(organisation_table.c.id, organisation_table.c.name)).all()
    found = find_organisation([(row.id, row.name) for row in known], organisation)
    if found is None:
        ids = ", ".join(sorted(row.id for row in known)) or "none"
        raise NotFound(
            f"unknown organisation {organisation!r} (known: {ids}): add it with `d2a server "
            f"add-organisation {organisation_id(organisation) or 'ID'} --name NAME --kind KIND`"
        )
    return found


def add_organisation(engine: Engine, typed_id: str, name: str, kind: str) -> str:
    """Add an organisation (its id by the one rule) or, for a known one, change its name and
    kind; its stored id."""
    wanted = organisation_id(typed_id)
    if not wanted:
        raise InvalidInput("an organisation needs an id of letters or digits, e.g. northcare")
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("an organisation needs a name of 1 to 200 characters")
    if kind not in ORGANISATION_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(ORGANISATION_KINDS)}, got {kind!r}")
    with engine.begin() as connection:
        known = connection.execute(select(organisation_table.c.id, organisation_table.c.name))
        found = find_organisation([(row.id, row.name) for row in known], wanted)
        if found is not None and organisation_id(found) == wanted:
            connection.execute(
                update(organisation_table)
                .where(organisation_table.c.id == found)
                .values(name=name, kind=kind)
            )
            return found
        connection.execute(organisation_table.insert().values(id=wanted, name=name, kind=kind))
    return wanted


def _set_localities(connection: Connection, user_id: str, localities: list[str]) -> None:
    known = known_localities(connection)
    unknown = sorted({name for name in localities if name not in known})
    if unknown:
        raise NotFound(
            f"unknown locality {unknown[0]!r}: known are {', '.join(sorted(known)) or 'none'} "
            "(add one with `d2a server add-locality NAME`)"
        )
    connection.execute(delete(user_locality_table).where(user_locality_table.c.user_id == user_id))
    rows = [{"user_id": user_id, "locality": name} for name in sorted(set(localities))]
    if rows:
        connection.execute(user_locality_table.insert(), rows)


def add_user(
    engine: Engine,
    name: str,
    role: str,
    organisation: str | None = None,
    user_id: str | None = None,
    localities: list[str] | None = None,
) -> str:
    """Add a user (or, for an existing id, change them). `localities` are the ones they serve;
    a coordinator, night or viewer user given none serves every locality."""
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    user_id = user_id or slug(name)
    if not user_id:
        raise InvalidInput("a user needs a name")
    if role == "provider" and not organisation:
        raise InvalidInput("a provider user needs --org: the organisation whose services it runs")
    with engine.begin() as connection:
        organisation_id = _organisation_id(connection, organisation) if organisation else None
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
        _set_localities(connection, user_id, localities or [])
    return user_id


def set_user(
    engine: Engine,
    user_id: str,
    *,
    role: str | None = None,
    organisation: str | None = None,
    localities: list[str] | None = None,
) -> dict[str, object]:
    """Change what is given; the user's devices see the new scope at their next pull (what
    they may no longer hold, they are told to forget)."""
    if role is not None and role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    with engine.begin() as connection:
        row = connection.execute(select(user_table).where(user_table.c.id == user_id)).first()
        if row is None:
            raise NotFound(f"no user {user_id!r}: add them with `d2a server add-user` first")
        values: dict[str, object] = {}
        if role is not None:
            values["role"] = role
        if organisation is not None:
            values["organisation_id"] = _organisation_id(connection, organisation)
        if (values.get("role", row.role) == "provider") and not values.get(
            "organisation_id", row.organisation_id
        ):
            raise InvalidInput(
                "a provider user needs --org: the organisation whose services it runs"
            )
        if values:
            connection.execute(
                update(user_table).where(user_table.c.id == user_id).values(**values)
            )
        if localities is not None:
            _set_localities(connection, user_id, localities)
        return user_details(connection, user_id)


def user_details(connection: Connection, user_id: str) -> dict[str, object]:
    row = connection.execute(select(user_table).where(user_table.c.id == user_id)).one()
    localities = sorted(
        connection.execute(
            select(user_locality_table.c.locality).where(user_locality_table.c.user_id == user_id)
        ).scalars()
    )
    return {
        "id": row.id,
        "name": row.name,
        "role": row.role,
        "organisation_id": row.organisation_id,
        "localities": localities,
    }


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


def redeem(
    engine: Engine,
    enrol_token: str,
    label: str | None,
    *,
    first_seq: int | None = None,
    token_days: int = TOKEN_DAYS,
    now: datetime | None = None,
) -> EnrolResponse:
    """Swap a one-time enrolment token for the device's token, good for `token_days`."""
    token = new_device_token()
    now = now or datetime.now(UTC)
    expires = now + timedelta(days=token_days)
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
                enrolled_at=now,
                token_expires_at=expires,
                label=label or row.label,
                # A new device has pushed nothing: starting later keeps a re-login's queued
                # changes in the gap-free order they were numbered in.
                next_seq=first_seq or 1,
            )
        )
        if done.rowcount != 1:
            raise NotAllowed("this enrolment token was used already")
    return EnrolResponse(
        device_id=row.id,
        token=token,
        user_id=row.user_id,
        name=row.name,
        role=row.role,
        token_expires_at=expires,
    )


def rotate_token(
    engine: Engine,
    device_id: str,
    *,
    token_days: int = TOKEN_DAYS,
    now: datetime | None = None,
) -> tuple[str, datetime]:
    """A new token for the device, made here, and its expiry. It is kept as the device's pending
    token: the old one works until the new one is first used (see `authenticate`), so an answer
    lost on the way locks no one out, and asking again replaces the pending one."""
    now = now or datetime.now(UTC)
    expires = now + timedelta(days=token_days)
    token = new_device_token()
    with engine.begin() as connection:
        changed = connection.execute(
            update(device_table)
            .where(device_table.c.id == device_id, device_table.c.revoked_at.is_(None))
            .values(pending_hash=token_hash(token), pending_expires_at=expires)
        ).rowcount
    if not changed:
        raise NotAllowed("this device is revoked")
    return token, expires


def token_expiry(row: object, token_days: int = TOKEN_DAYS) -> datetime | None:
    """When a device's token expires: as recorded, or (enrolled before expiry was recorded)
    `token_days` after its enrolment."""
    expires: datetime | None = getattr(row, "token_expires_at", None)
    enrolled: datetime | None = getattr(row, "enrolled_at", None)
    if expires is None and enrolled is not None:
        return enrolled + timedelta(days=token_days)
    return expires


def authenticate(
    engine: Engine, token: str, *, now: datetime | None = None, token_days: int = TOKEN_DAYS
) -> DeviceContext | str:
    """The caller for `token`, or the machine-readable reason it is refused. The first use of a
    token made by a swap makes it the device's token, and the old one stops working."""
    hashed = token_hash(token)
    row = _device_by_token(engine, hashed)
    if row is None:
        with engine.begin() as connection:
            promoted = connection.execute(
                update(device_table)
                .where(device_table.c.pending_hash == hashed, device_table.c.revoked_at.is_(None))
                .values(
                    token_hash=hashed,
                    token_expires_at=device_table.c.pending_expires_at,
                    pending_hash=None,
                    pending_expires_at=None,
                )
            ).rowcount
        row = _device_by_token(engine, hashed) if promoted else None
    if row is None:
        return "bad_token"
    if row.revoked_at is not None:
        return "revoked"
    now = now or datetime.now(UTC)
    expires = token_expiry(row, token_days)
    if expires is not None and now >= expires:
        return "expired"
    if row.last_seen_at is None or now - row.last_seen_at >= SEEN_EVERY:
        _mark_seen(engine, row.id, now)
    return DeviceContext(row.id, row.user_id, row.name, row.role, row.organisation_id, expires)


def _device_by_token(engine: Engine, hashed: str) -> Any:  # a Row, or None
    with engine.connect() as connection:
        return connection.execute(
            select(
                device_table.c.id,
                device_table.c.revoked_at,
                device_table.c.enrolled_at,
                device_table.c.token_expires_at,
                device_table.c.last_seen_at,
                user_table.c.id.label("user_id"),
                user_table.c.name,
                user_table.c.role,
                user_table.c.organisation_id,
            )
            .join(user_table, user_table.c.id == device_table.c.user_id)
            .where(device_table.c.token_hash == hashed)
        ).first()


# "Last seen" is every authenticated request (a device that only pulls is seen too), written
# at most this often: a device long-polling every few seconds costs one small write a minute.
SEEN_EVERY = timedelta(seconds=30)


def _mark_seen(engine: Engine, device_id: str, now: datetime) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(device_table)
            .where(
                device_table.c.id == device_id,
                (device_table.c.last_seen_at.is_(None))
                | (device_table.c.last_seen_at <= now - SEEN_EVERY),
            )
            .values(last_seen_at=now)
        )


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
                device_table.c.token_expires_at,
                device_table.c.next_seq,
            ).order_by(device_table.c.created_at)
        ).all()
    return [
        {**row._mapping, "token_expires_at": token_expiry(row) if row.enrolled_at else None}
        for row in rows
    ]
