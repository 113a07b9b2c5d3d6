"""The API's routes, one `APIRouter` per OpenAPI tag: `ops` (health), `auth` (enrol, me,
rotate) and `sync` (push, pull, services, snapshot)."""
