"""A device's identity: enrol with a one-time token, ask who it is, rotate its token.

The routes are the single-module server's, moved verbatim; what they used from `create_app`'s
scope (the engine, the clock, the token's lifetime, the caller) comes in as dependencies of the
same names (`deps.py`).
"""

from __future__ import annotations

import logging

from fastapi import APIRouter

from d2a_tui.domain.errors import D2AError
from d2a_tui.sync import admin
from d2a_tui.sync.protocol import EnrolRequest, EnrolResponse, Me, RotateRequest, RotateResponse
from d2a_tui.sync.server.deps import CallerDep, ClockDep, DatabaseDep, TokenDaysDep
from d2a_tui.sync.server.errors import ERRORS, ApiError

log = logging.getLogger("d2a.sync.server")
router = APIRouter()


@router.post("/v1/devices/enrol", response_model=EnrolResponse, responses=ERRORS, tags=["auth"])
def enrol(
    body: EnrolRequest, engine: DatabaseDep, now: ClockDep, token_days: TokenDaysDep
) -> EnrolResponse:
    try:
        enrolled = admin.redeem(
            engine,
            body.token,
            body.label,
            first_seq=body.first_seq,
            token_days=token_days,
            now=now(),
        )
    except D2AError as error:
        raise ApiError(401, "bad_enrolment_token", str(error)) from None
    log.info("device %s enrolled", enrolled.device_id[-12:])
    return enrolled


@router.get("/v1/me", response_model=Me, responses=ERRORS, tags=["auth"])
def me(device: CallerDep) -> Me:
    return Me(
        user_id=device.user_id,
        name=device.name,
        role=device.role,
        organisation_id=device.organisation_id,
        device_id=device.device_id,
        token_expires_at=device.token_expires_at,
    )


@router.post("/v1/devices/rotate", response_model=RotateResponse, responses=ERRORS, tags=["auth"])
def rotate(
    body: RotateRequest,
    device: CallerDep,
    engine: DatabaseDep,
    now: ClockDep,
    token_days: TokenDaysDep,
) -> RotateResponse:
    # The server makes the token: a device that could choose one could choose a known one.
    try:
        token, expires = admin.rotate_token(
            engine, device.device_id, token_days=token_days, now=now()
        )
    except D2AError as error:
        raise ApiError(401, "revoked", str(error)) from None
    log.info("device %s rotated its token", device.device_id[-12:])
    return RotateResponse(token=token, token_expires_at=expires)
