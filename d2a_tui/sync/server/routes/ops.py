"""For the operator and the load balancer: is the process alive.

/v1/ready (should it be sent work) is the lifecycle's (`sync/lifecycle.py`), which `create_app`
adds after the sync routes, as before: the order of the routes is the order of the paths in the
OpenAPI document.
"""

from __future__ import annotations

from fastapi import APIRouter

from d2a_tui.sync.protocol import SUPPORTED_VERSIONS, Health
from d2a_tui.sync.server.deps import ClockDep, ServerDep

router = APIRouter()


@router.get("/v1/health", response_model=Health, tags=["ops"])
def health(server: ServerDep, now: ClockDep) -> Health:
    # Alive, without asking the database: whether it answers is /v1/ready's question.
    return Health(
        status="ok",
        schema_revision=server.revision,
        protocol_versions=list(SUPPORTED_VERSIONS),
        time=now(),
    )
