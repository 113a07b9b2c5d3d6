"""The referral form: a new patient onto the board in one go, or not at all.

The NHS number is checked as it is typed. Every field's problem is shown beside that field;
the referral is one Hub command (one transaction), so nothing is ever half-saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Input, Label, Select, Static

from d2a_tui.domain.errors import D2AError, InvalidInput
from d2a_tui.domain.flow import PATHWAYS
from d2a_tui.domain.nhs_number import InvalidNhsNumber, format_nhs_number, normalise
from d2a_tui.screens.base import DatabaseBanner, HubScreen
from d2a_tui.screens.pickers import parse_user_date
from d2a_tui.services.hub import Change, DatabaseUnavailable, DiskFull
from d2a_tui.widgets.keys import TextInput
from d2a_tui.widgets.literal import literal

if TYPE_CHECKING:
    from d2a_tui.screens.base import HostApp


@dataclass(frozen=True, slots=True)
class Field:
    id: str
    label: str
    placeholder: str
    required: bool = False
    is_date: bool = False


FIELDS: tuple[Field, ...] = (
    Field("nhs", "NHS number", "943 476 5919", required=True),
    Field("name", "Name", "as on the hospital record", required=True),
    Field("dob", "Date of birth", "DD/MM/YYYY", required=True, is_date=True),
    Field("ward", "Ward", "e.g. Ward 7"),
    Field("bed", "Bed", "e.g. B3"),
    Field("admitted", "Admitted", "DD/MM/YYYY", is_date=True),
    Field("ready", "Discharge-ready date", "DD/MM/YYYY, blank if not yet", is_date=True),
)

# Which field a refusal from the rules is about, by the words it uses.
_ERROR_FIELDS = (  # the most specific words first: "admitted date is before the date of birth"
    ("discharge-ready", "ready"),
    ("admitted", "admitted"),
    ("admission", "admitted"),
    ("NHS number", "nhs"),
    ("date of birth", "dob"),
    ("name", "name"),
)


class ReferralScreen(HubScreen[Change | None]):
    app: HostApp
    SHOWING = "the form"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "submit", "Refer", id="referral.submit"),
        Binding("escape", "cancel", "Cancel", id="referral.cancel"),
    ]

    def __init__(self) -> None:
        super().__init__(id="referral")

    def compose(self) -> ComposeResult:
        yield DatabaseBanner()
        with Vertical(id="referral-form"):
            yield Label("Refer a patient to the hub", id="referral-title")
            for field in FIELDS[:5]:
                yield from self._field(field)
            with Horizontal(classes="field", id="field-pathway"):
                yield Label("Proposed pathway", classes="field-label")
                yield Select(
                    [(pathway, pathway) for pathway in PATHWAYS],
                    prompt="not decided yet",
                    id="pathway",
                    compact=True,
                )
                yield Label("", classes="field-note", id="note-pathway")
            for field in FIELDS[5:]:
                yield from self._field(field)
            yield Static("", id="referral-error")
            yield Static(
                "tab next field · enter refer · esc cancel (nothing is saved)", id="referral-hint"
            )
        yield Footer(compact=True)

    def _field(self, field: Field) -> ComposeResult:
        box = TextInput(placeholder=field.placeholder, id=field.id, compact=True)
        box.cursor_blink = False
        with Horizontal(classes="field", id=f"field-{field.id}"):
            yield Label(literal(field.label, " *" if field.required else ""), classes="field-label")
            yield box
            yield Label("", classes="field-note", id=f"note-{field.id}")

    def on_mount(self) -> None:
        self.query_one("#nhs", Input).focus()

    # --- checking ------------------------------------------------------------------------------

    def _note(self, field_id: str, text: str, ok: bool = False) -> None:
        note = self.query_one(f"#note-{field_id}", Label)
        note.update(literal(text))
        note.set_class(ok, "-ok")
        note.set_class(bool(text) and not ok, "field-error")

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "nhs":
            self._check_nhs(event.value, as_typed=True)
        elif event.input.id:
            self._note(event.input.id, "")

    def _check_nhs(self, raw: str, *, as_typed: bool) -> str | None:
        digits = raw.replace(" ", "").replace("-", "")
        if as_typed and digits.isdigit() and len(digits) < 10:
            self._note("nhs", f"{len(digits)} of 10 digits")
            self.query_one("#note-nhs", Label).remove_class("field-error")
            return None
        if as_typed and not digits:
            self._note("nhs", "")
            return None
        try:
            valid = normalise(raw)
        except InvalidNhsNumber as error:
            self._note("nhs", str(error).removeprefix("NHS number "))
            return None
        self._note("nhs", f"✓ {format_nhs_number(valid)}", ok=True)
        return valid

    def _values(self) -> dict[str, object] | None:
        """Every field checked; None (with the reasons shown beside the fields) if any is wrong."""
        today = self.app.hub.now().date()
        values: dict[str, object] = {}
        first_bad: str | None = None
        for field in FIELDS:
            raw = self.query_one(f"#{field.id}", Input).value.strip()
            problem: str | None = None
            value: object = raw or None
            if field.id == "nhs":
                value = self._check_nhs(raw, as_typed=False)
                if value is None:
                    problem = "needed"
            elif field.required and not raw:
                problem = "needed"
            elif field.is_date and raw:
                try:
                    value = parse_user_date(raw, today)
                except InvalidInput:
                    problem = "not a date: type it as DD/MM/YYYY"
                else:
                    if isinstance(value, date) and value > today:
                        problem = "is in the future"
            if field.id != "nhs":
                self._note(field.id, problem or "")
            if problem and first_bad is None:
                first_bad = field.id
                if field.id == "nhs" and not self.query_one("#note-nhs", Label).content:
                    self._note("nhs", "needed")
            values[field.id] = value
        pathway = self.query_one("#pathway", Select).value
        values["pathway"] = pathway if isinstance(pathway, str) else None
        if first_bad is not None:
            self.query_one(f"#{first_bad}", Input).focus()
            return None
        return values

    # --- submitting ----------------------------------------------------------------------------

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_submit()

    def action_submit(self) -> None:
        error_box = self.query_one("#referral-error", Static)
        error_box.update("")
        values = self._values()
        if values is None:
            error_box.update(literal("Not referred: put right the fields marked, then press enter"))
            return
        if self.app.db_problem is not None:
            error_box.update(
                literal(
                    "Not referred: the database is unavailable. Your entries are kept: "
                    "press enter again when it is back."
                )
            )
            return
        hub = self.app.hub
        # `values` holds `str | date | None` whatever the field; `_values` has checked each one
        # (the dates parsed, the rest text), which a type checker cannot follow by key.
        try:
            change = hub.refer(
                str(values["nhs"]),
                str(values["name"]),
                values["dob"],  # type: ignore[arg-type]
                ward=values["ward"],  # type: ignore[arg-type]
                bed=values["bed"],  # type: ignore[arg-type]
                pathway=values["pathway"],  # type: ignore[arg-type]
                admitted_on=values["admitted"],  # type: ignore[arg-type]
                discharge_ready_date=values["ready"],  # type: ignore[arg-type]
            )
        except D2AError as error:
            message = str(error)
            for words, field_id in _ERROR_FIELDS:
                if words.lower() in message.lower():
                    self._note(field_id, message)
                    self.query_one(f"#{field_id}", Input).focus()
                    break
            error_box.update(literal(f"Not referred: {message}"))
            if isinstance(error, DatabaseUnavailable) and not isinstance(error, DiskFull):
                self.app.database_lost(message)
            return
        self.app.notify(f"Referred: journey {change.card.short_id} in {hub.flow.entry.name}")
        self.dismiss(change)

    def action_cancel(self) -> None:
        self.dismiss(None)
