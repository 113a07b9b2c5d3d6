"""Capacity reports on a replica: stored locally for this device's screens and queued in the
outbox in the same transaction, so a provider who reports offline reaches the server at the next
sync, exactly once (the report's id is the server's idempotency key, beside the mutation's)."""

from __future__ import annotations

from datetime import datetime

from d2a_tui.domain.errors import NotAllowed
from d2a_tui.domain.ids import uuid7
from d2a_tui.domain.limits import check_places, check_text
from d2a_tui.reports.capacity_store import CapacityStore, CapacityView, ServiceView, check_figures
from d2a_tui.reports.capacity_store import reports as report_table
from d2a_tui.sync.replica import Replica
from d2a_tui.sync.rules import refusal_for_role


class ReplicaCapacityStore(CapacityStore):
    def __init__(self, store: CapacityStore, replica: Replica, role: str) -> None:
        super().__init__(store.engine)
        self.replica = replica
        self.role = role

    def add_report(
        self,
        service: ServiceView,
        *,
        total: int,
        occupied: int,
        closed: int,
        reported_by: str,
        device_id: str,
        at: datetime,
        note: str | None = None,
    ) -> CapacityView:
        refusal = refusal_for_role(self.role, "capacity")
        if refusal is not None:
            raise NotAllowed(refusal)
        check_figures(total, occupied, closed)
        # The wire's own limits (protocol.CapacityMutation), so the server cannot refuse the push.
        check_places(total=total, occupied=occupied, closed=closed)
        if note is not None:
            check_text("note", note, "the note")
        if not service.active:
            raise NotAllowed(f"service {service.id} is no longer active")
        view = CapacityView(uuid7(), service.id, at, total, occupied, closed, reported_by, note)
        with self._connect(write=True) as connection:
            connection.execute(
                report_table.insert().values(
                    report_id=view.report_id, service_id=view.service_id,
                    reported_at=view.reported_at, total=total, occupied=occupied, closed=closed,
                    reported_by=reported_by, device_id=device_id, note=note,
                )
            )  # fmt: skip
            self.replica.queue_capacity(
                connection, report_id=view.report_id, service_id=service.id, total=total,
                occupied=occupied, closed=closed, note=note, actor=reported_by,
                occurred_at=at, mutation_id=uuid7(),
            )  # fmt: skip
        return view
