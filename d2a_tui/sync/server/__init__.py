"""The central API: FastAPI over the same storage layer as a direct hub.

Endpoints: push (apply a device's mutations), pull (others' events by server_seq, paged, with
ETag/304 and long-poll), snapshot (what a new replica needs), health, ready, enrol, me. The
process's start, readiness and graceful stop are `lifecycle.py`'s; long-poll wake-ups across
processes are `wakeup.py`'s. The OpenAPI
document at /openapi.json is generated from `protocol.py` and is the contract.

Logs go to stderr and name devices and counts, never a patient, a journey or a payload.

Laid out as the FastAPI full-stack template lays out an API:
- `app.py`: `create_app` (the middleware in its order, the exception handlers, the lifespan,
  the routers) and `serve`;
- `deps.py`: what a route needs, as dependencies: the database, the clock, the device calling;
- `errors.py`: every refusal in the one error shape, with its reason code;
- `routes/`: one `APIRouter` per OpenAPI tag: `ops`, `auth`, `sync`.
"""

from d2a_tui.sync.server.app import create_app, serve

__all__ = ["create_app", "serve"]
