"""Reading a hub's caseload sheet (CSV, text or Excel) into numbered rows of named fields.

Headers are matched to fields by name (case, spaces and punctuation ignored, with the usual
synonyms: `NHS No`, `DOB`, `DRD`, `EDD`, …); a TOML mapping file names the rest. The header row
need not be the first: sheets often carry a title above it, so the first row that names at least
three fields is taken. The sheet says what it read: every column and what it was read as, every
column left out (and whether it holds dates), and the rows it left out: a totals row at the foot,
and the rows the workbook hides (taken only with `include_hidden`). Files are opened by
`sheet_files`.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from d2a_tui.domain.errors import InvalidInput
from d2a_tui.interop.sheet_files import EXCEL_SUFFIXES, TEXT_SUFFIXES, read_text, read_xlsx
from d2a_tui.interop.values import looks_like_date

FIELDS = (
    "nhs_number",
    "name",
    "forename",
    "surname",
    "date_of_birth",
    "admitted_on",
    "ward",
    "bed",
    "pathway",
    "referred_on",
    "column",
    "column_since",
    "discharge_ready_date",
    "expected_discharge_date",
    "delay_reason",
    "locality",
)
REQUIRED = ("nhs_number", "date_of_birth", "admitted_on")

_SYNONYMS: dict[str, tuple[str, ...]] = {
    "nhs_number": ("nhsnumber", "nhsno", "nhs", "nhsnum"),
    "name": ("name", "patientname", "patient", "fullname"),
    "forename": ("forename", "firstname", "givenname", "forenames"),
    "surname": ("surname", "lastname", "familyname"),
    "date_of_birth": ("dob", "dateofbirth", "birthdate", "born"),
    "admitted_on": ("admitted", "admittedon", "admissiondate", "dateofadmission", "admission"),
    "ward": ("ward", "currentward", "location"),
    "bed": ("bed", "bedno", "bednumber"),
    "pathway": ("pathway", "pw", "proposedpathway", "dischargepathway"),
    "referred_on": ("referred", "referredon", "referraldate", "datereferred", "dateofreferral"),
    "column": ("column", "status", "stage", "currentstatus"),
    "column_since": ("columnsince", "since", "statussince", "instatussince", "stagesince"),
    "discharge_ready_date": (
        "drd", "dischargereadydate", "readydate", "nctrdate", "nctrsince", "mffd", "mfd",
        "medicallyfitdate",
    ),
    "expected_discharge_date": ("edd", "expecteddischargedate", "expecteddateofdischarge"),
    "delay_reason": ("delay", "delayreason", "reasonfordelay", "delaycode", "reason"),
    "locality": ("locality", "area", "place"),
}  # fmt: skip


FIELD_WORDS = {
    "nhs_number": "NHS number",
    "name": "name (in full)",
    "forename": "given name",
    "surname": "family name",
    "date_of_birth": "date of birth",
    "admitted_on": "admission date",
    "ward": "ward",
    "bed": "bed",
    "pathway": "pathway",
    "referred_on": "referral date",
    "column": "board column",
    "column_since": "in its column since",
    "discharge_ready_date": "discharge-ready date",
    "expected_discharge_date": "expected discharge date",
    "delay_reason": "delay reason",
    "locality": "locality",
}
DATE_FIELDS = frozenset(
    {"date_of_birth", "admitted_on", "referred_on", "column_since", "discharge_ready_date",
     "expected_discharge_date"}
)  # fmt: skip
# The first cell of a totals row, as sheets word it ("Total", "Totals:", "Grand total").
_TOTALS = re.compile(r"(grand\s+)?totals?\b.*", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class SheetRow:
    number: int  # the row number the person sees in their spreadsheet (the header is a row too)
    values: dict[str, Any]
    problem: str | None = None  # a row that cannot be read as it stands (merged cells)


@dataclass(frozen=True, slots=True)
class ColumnRead:
    letter: str
    header: str
    field: str
    by: str  # "the mapping file" or "its header"

    @property
    def words(self) -> str:
        return FIELD_WORDS[self.field]


@dataclass(frozen=True, slots=True)
class ColumnLeftOut:
    letter: str
    header: str
    dates: bool  # holds dates: perhaps a date the hub means d2a to read


@dataclass(frozen=True, slots=True)
class RowNote:
    number: int
    what: str  # what the row is and what was done with it
    skipped: bool = True


@dataclass
class Sheet:
    rows: list[SheetRow]
    fields: dict[str, str] = field(default_factory=dict)  # field -> the header it came from
    blank_rows: list[int] = field(default_factory=list)
    source: str = ""
    header_row: int = 1
    columns: list[ColumnRead] = field(default_factory=list)
    left_out: list[ColumnLeftOut] = field(default_factory=list)
    row_notes: list[RowNote] = field(default_factory=list)  # totals rows, hidden rows

    @property
    def skipped(self) -> list[RowNote]:
        return [note for note in self.row_notes if note.skipped]

    def header(self, name: str) -> str:
        """The sheet's own header for a field, as refusals name it."""
        return self.fields.get(name, FIELD_WORDS.get(name, name))

    @property
    def warnings(self) -> list[str]:
        """What a person should hear on every run, not only the dry run."""
        return [
            f"column {column.letter} {column.header!r} holds dates but was left out: name it "
            "in a --map file if d2a should read it"
            for column in self.left_out
            if column.dates
        ]


def _key(header: Any) -> str:
    return re.sub(r"[^a-z0-9]", "", str(header or "").lower())


def load_mapping(path: Path | None) -> dict[str, str]:
    """`[columns]` field = "header in the sheet", from a TOML mapping file."""
    if path is None:
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInput(f"mapping file {path} does not exist") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise InvalidInput(f"mapping file {path} is not valid TOML: {error}") from None
    columns = data.get("columns", {})
    if not isinstance(columns, dict):
        raise InvalidInput(f'mapping file {path}: [columns] must be a table of field = "header"')
    unknown = sorted(set(columns) - set(FIELDS))
    if unknown:
        raise InvalidInput(
            f"mapping file {path}: unknown field {unknown[0]!r}; fields: {', '.join(FIELDS)}"
        )
    return {name: str(header) for name, header in columns.items()}


def _match_headers(headers: list[Any], mapping: dict[str, str]) -> dict[int, str]:
    """Column index -> field. The mapping file wins over the synonyms."""
    by_key = {_key(header): index for index, header in enumerate(headers) if _key(header)}
    matched: dict[int, str] = {}
    for name, header in mapping.items():
        index = by_key.get(_key(header))
        if index is None:
            raise InvalidInput(
                f"the mapping names column {header!r} for {name}, but the sheet has none"
            )
        matched[index] = name
    taken = set(matched.values())
    for name, synonyms in _SYNONYMS.items():
        if name in taken:
            continue
        for synonym in synonyms:
            index = by_key.get(synonym)
            if index is not None and index not in matched:
                matched[index] = name
                break
    return matched


def _header_row(grid: list[list[Any]], mapping: dict[str, str]) -> int:
    for index, row in enumerate(grid[:10]):
        if len(_match_headers_safe(row, mapping)) >= 3:
            return index
    raise InvalidInput(
        "no header row found: the sheet needs columns such as NHS number, DOB and admission date "
        "(or a --map file naming them)"
    )


def _match_headers_safe(row: list[Any], mapping: dict[str, str]) -> dict[int, str]:
    try:
        return _match_headers(row, mapping)
    except InvalidInput:
        return {}


def header_score(rows: list[list[Any]], mapping: dict[str, str]) -> int:
    """How many fields the best header candidate among `rows` names."""
    return max((len(_match_headers_safe(row, mapping)) for row in rows), default=0)


def read_sheet(
    path: Path,
    *,
    sheet_name: str | None = None,
    mapping: dict[str, str] | None = None,
    include_hidden: bool = False,
) -> Sheet:
    mapping = mapping or {}
    suffix = path.suffix.lower()
    if not path.exists():
        raise InvalidInput(f"{path} does not exist")
    if suffix in TEXT_SUFFIXES:
        if sheet_name:
            raise InvalidInput("--sheet is for Excel files; a text file has one sheet")
        grid = read_text(path, lambda rows: header_score(rows, mapping))
    elif suffix in EXCEL_SUFFIXES:
        grid = read_xlsx(path, sheet_name)
    else:
        raise InvalidInput(f"{path.name}: import reads .csv, .txt, .tsv and .xlsx files")
    cells = grid.cells
    header_index = _header_row(cells, mapping)
    columns = _match_headers(cells[header_index], mapping)
    missing = [name for name in REQUIRED if name not in columns.values()]
    has_name = "name" in columns.values() or "surname" in columns.values()
    if missing or not has_name:
        missing += [] if has_name else ["name"]
        raise InvalidInput(
            f"the sheet has no column for {', '.join(missing)} (name it in a --map file)"
        )
    headers = cells[header_index]
    sheet = Sheet(
        [],
        {name: _header_text(headers[index]) for index, name in columns.items()},
        source=grid.source,
        header_row=header_index + 1,
    )
    body = list(enumerate(cells[header_index + 1 :], start=header_index + 2))
    totals = _trailing_totals(body)
    width = max((len(row) for _, row in body), default=0)
    for index in range(max(len(headers), width)):
        header = _header_text(headers[index]) if index < len(headers) else ""
        if index in columns:
            by = "the mapping file" if columns[index] in mapping else "its header"
            sheet.columns.append(ColumnRead(_letter(index), header, columns[index], by))
            continue
        values = [row[index] for number, row in body if index < len(row) and number not in totals]
        if header or any(not _blank(value) for value in values):
            sheet.left_out.append(
                ColumnLeftOut(_letter(index), header or "(no header)", _dates(header, values))
            )
    for number, raw in body:
        if all(_blank(value) for value in raw):
            sheet.blank_rows.append(number)
            continue
        if number in totals:
            sheet.row_notes.append(RowNote(number, f"a totals row ({totals[number]!r}): skipped"))
            continue
        if number in grid.hidden and not include_hidden:
            sheet.row_notes.append(
                RowNote(number, "hidden in the sheet: left out (--include-hidden takes it)")
            )
            continue
        fields = {name: raw[index] if index < len(raw) else None for index, name in columns.items()}
        problem = None
        if number in grid.merged:
            problem = "merged cells: unmerge them so each row holds its own values"
        sheet.rows.append(SheetRow(number, fields, problem))
        if number in grid.hidden:
            sheet.row_notes.append(
                RowNote(number, "hidden in the sheet: taken like the others", skipped=False)
            )
    return sheet


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _header_text(header: Any) -> str:
    return " ".join(str(header).split()) if not _blank(header) else ""


def _letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA: the column as the spreadsheet names it."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _trailing_totals(body: list[tuple[int, list[Any]]]) -> dict[int, str]:
    """The totals rows at the foot of the sheet (after the last person's row, blank rows apart):
    row number -> the cell that says so. A "Total" row between people is not skipped: it is
    refused like any row that cannot be read, so nobody below it is silently dropped."""
    found: dict[int, str] = {}
    for number, row in reversed(body):
        filled = [value for value in row if not _blank(value)]
        if not filled:
            continue
        first = str(filled[0]).strip()
        if isinstance(filled[0], str) and _TOTALS.fullmatch(first):
            found[number] = first
            continue
        break
    return found


def _dates(header: str, values: list[Any]) -> bool:
    """A column that holds dates: most of its filled cells are date cells or read as dates
    written as text, or its header says date."""
    if re.search(r"\bdate|\bdob\b|\bdue\b", header, re.IGNORECASE):
        return True
    filled = [value for value in values if not _blank(value)]
    if not filled:
        return False
    dated = sum(1 for value in filled if looks_like_date(value))
    return dated * 2 > len(filled)
