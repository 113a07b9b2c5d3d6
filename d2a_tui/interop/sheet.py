"""Reading a hub's caseload sheet (CSV or Excel) into numbered rows of named fields.

Headers are matched to fields by name (case, spaces and punctuation ignored, with the usual
synonyms: `NHS No`, `DOB`, `DRD`, `EDD`, …); a TOML mapping file names the rest. The header row
need not be the first: sheets often carry a title above it, so the first row that names at least
three fields is taken.
"""

from __future__ import annotations

import csv
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from d2a_tui.domain.errors import InvalidInput

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


@dataclass(frozen=True, slots=True)
class SheetRow:
    number: int  # the row number the person sees in their spreadsheet (the header is a row too)
    values: dict[str, Any]
    problem: str | None = None  # a row that cannot be read as it stands (merged cells)


@dataclass
class Sheet:
    rows: list[SheetRow]
    fields: dict[str, str] = field(default_factory=dict)  # field -> the header it came from
    blank_rows: list[int] = field(default_factory=list)


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


def read_sheet(
    path: Path, *, sheet_name: str | None = None, mapping: dict[str, str] | None = None
) -> Sheet:
    mapping = mapping or {}
    suffix = path.suffix.lower()
    if not path.exists():
        raise InvalidInput(f"{path} does not exist")
    if suffix == ".csv":
        if sheet_name:
            raise InvalidInput("--sheet is for Excel files; a CSV file has one sheet")
        grid, merged = _read_csv(path), set[int]()
    elif suffix in (".xlsx", ".xlsm"):
        grid, merged = _read_xlsx(path, sheet_name)
    else:
        raise InvalidInput(f"{path.name}: import reads .csv and .xlsx files")
    header_index = _header_row(grid, mapping)
    columns = _match_headers(grid[header_index], mapping)
    missing = [name for name in REQUIRED if name not in columns.values()]
    has_name = "name" in columns.values() or "surname" in columns.values()
    if missing or not has_name:
        missing += [] if has_name else ["name"]
        raise InvalidInput(
            f"the sheet has no column for {', '.join(missing)} (name it in a --map file)"
        )
    headers = grid[header_index]
    sheet = Sheet([], {name: str(headers[index]) for index, name in columns.items()})
    for offset, raw in enumerate(grid[header_index + 1 :], start=header_index + 2):
        if all(value is None or str(value).strip() == "" for value in raw):
            sheet.blank_rows.append(offset)
            continue
        values = {name: raw[index] if index < len(raw) else None for index, name in columns.items()}
        problem = None
        if offset in merged:
            problem = "merged cells: unmerge them so each row holds its own values"
        sheet.rows.append(SheetRow(offset, values, problem))
    return sheet


def _read_csv(path: Path) -> list[list[Any]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        # Excel on Windows saves "CSV" in the machine's code page.
        text = path.read_text(encoding="cp1252")
    return [list(row) for row in csv.reader(text.splitlines())]


def _read_xlsx(path: Path, sheet_name: str | None) -> tuple[list[list[Any]], set[int]]:
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(path))
    except (CalamineError, OSError, ValueError) as error:
        raise InvalidInput(
            f"{path.name} is not a readable Excel file ({type(error).__name__})"
        ) from None
    try:
        if sheet_name is None:
            sheet = book.get_sheet_by_index(0)
        elif sheet_name in book.sheet_names:
            sheet = book.get_sheet_by_name(sheet_name)
        else:
            raise InvalidInput(
                f"{path.name} has no sheet {sheet_name!r}; sheets: {', '.join(book.sheet_names)}"
            )
        # From A1, so that list positions are the sheet's own row and column numbers.
        grid = [[_cell(value) for value in row] for row in sheet.to_python(skip_empty_area=False)]
    except CalamineError as error:
        raise InvalidInput(
            f"{path.name} is not a readable Excel file ({type(error).__name__})"
        ) from None
    finally:
        book.close()
    merged: set[int] = set()
    for (first_row, _), (last_row, _) in sheet.merged_cell_ranges or ():
        merged.update(range(first_row + 1, last_row + 2))  # 0-based to the sheet's numbering
    return grid, merged


def _cell(value: Any) -> Any:
    """A cell as the rest of the import reads it: empty is None, a whole number an int (an NHS
    number typed as a number, an Excel serial date)."""
    if value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
