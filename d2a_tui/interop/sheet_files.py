"""The files a caseload sheet arrives in, read into a grid of cells (row 1 first, column A first).

Text files are saved by Excel and LibreOffice in many shapes: comma-, semicolon- (a machine set to a
European locale) or tab-separated ("Text (Tab delimited)" and "Unicode Text"), in UTF-8 with or
without a byte-order mark, UTF-16 with one ("Unicode Text"), or the Windows code page 1252 (Excel's
plain "CSV" on an English Windows). The encoding is read from the byte-order mark, else UTF-8 if the
bytes are valid UTF-8, else Windows-1252; the separator is the one under which the header row is
found (csv.Sniffer's guess first). Workbooks are read with python-calamine; the rows Excel hides
are read from the row tags of the sheet's own XML, which calamine does not report.
"""

from __future__ import annotations

import codecs
import csv
import io
import posixpath
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from d2a_tui.domain.errors import InvalidInput

TEXT_SUFFIXES = (".csv", ".txt", ".tsv")
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
_SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "bar"}
_BOMS = (
    (codecs.BOM_UTF8, "utf-8", "UTF-8 with a byte-order mark"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16 LE with a byte-order mark (Unicode text)"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16 BE with a byte-order mark"),
)
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_ROW_TAG = re.compile(rb"<(?:\w+:)?row\b([^>]*)>")
_ATTRIBUTE = re.compile(rb'([\w:]+)\s*=\s*["\']([^"\']*)["\']')


@dataclass
class Grid:
    cells: list[list[Any]]
    source: str  # how the file was read, in words: shown by the dry run
    merged: set[int] = field(default_factory=set)  # sheet row numbers inside a merged range
    hidden: set[int] = field(default_factory=set)  # sheet row numbers Excel hides


def decode(data: bytes) -> tuple[str, str]:
    """The text and, in words, the encoding it was read in."""
    for bom, codec, words in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(codec), words
            except UnicodeDecodeError:
                raise InvalidInput(f"the file starts as {words} but is not valid in it") from None
    if data.startswith(b"PK\x03\x04"):
        raise InvalidInput("this is an Excel workbook saved under a text name: rename it .xlsx")
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "Windows-1252 (Excel's CSV on Windows)"
    except UnicodeDecodeError:
        raise InvalidInput(
            "the file is neither UTF-8 nor Windows-1252 text: save it as CSV UTF-8"
        ) from None


def read_text(path: Path, header_score: Callable[[list[list[Any]]], int]) -> Grid:
    """`header_score(rows)` says how well a header is found in the rows read with a separator; the
    separator that scores best is taken, csv.Sniffer's guess winning a tie."""
    text, encoding = decode(path.read_bytes())
    if "\x00" in text:
        raise InvalidInput(
            f"{path.name} holds NUL bytes: it is not a text file in a known encoding"
        )
    sample = "\n".join(text.splitlines()[:50])
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters="".join(_SEPARATORS)).delimiter
    except csv.Error:
        sniffed = ","
    candidates = [sniffed, *(sep for sep in _SEPARATORS if sep != sniffed)]
    best: tuple[int, str, list[list[Any]]] | None = None
    for separator in candidates:
        # The whole text, not its lines: a quoted cell may hold a line break (Alt+Enter in Excel).
        rows = [list(row) for row in csv.reader(io.StringIO(text, newline=""), delimiter=separator)]
        score = header_score(rows[:10])
        if best is None or score > best[0]:
            best = (score, separator, rows)
    assert best is not None
    _, separator, rows = best
    cells = [[None if value == "" else value for value in row] for row in rows]
    return Grid(cells, f"text, {_SEPARATORS[separator]}-separated, {encoding}")


def read_xlsx(path: Path, sheet_name: str | None) -> Grid:
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
        cells = [[_cell(value) for value in row] for row in sheet.to_python(skip_empty_area=False)]
    except CalamineError as error:
        raise InvalidInput(
            f"{path.name} is not a readable Excel file ({type(error).__name__})"
        ) from None
    finally:
        book.close()
    merged: set[int] = set()
    for (first_row, _), (last_row, _) in sheet.merged_cell_ranges or ():
        merged.update(range(first_row + 1, last_row + 2))  # 0-based to the sheet's numbering
    return Grid(
        cells, f"Excel workbook, sheet {sheet.name!r}", merged, _hidden_rows(path, sheet.name)
    )


def _cell(value: Any) -> Any:
    """A cell as the rest of the import reads it: empty is None, a whole number an int (an NHS
    number typed as a number, an Excel serial date)."""
    if value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _hidden_rows(path: Path, sheet_name: str) -> set[int]:
    """The row numbers the sheet's XML marks hidden (a hidden row, or one an AutoFilter hides).

    Only the `<row>` start tags are read, by a pattern over the part's bytes: parsing every cell
    of a 5,000-row sheet as XML took ten times as long as calamine's whole read."""
    try:
        with zipfile.ZipFile(path) as archive:
            part = _sheet_part(archive, sheet_name)
            if part is None:
                return set()
            data = archive.read(part)
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError, ValueError, OSError):
        return set()  # calamine read the cells; without the row flags, nothing is hidden
    hidden: set[int] = set()
    for tag in _ROW_TAG.finditer(data):
        attributes = dict(_ATTRIBUTE.findall(tag.group(1)))
        if attributes.get(b"hidden") in (b"1", b"true") and attributes.get(b"r", b"").isdigit():
            hidden.add(int(attributes[b"r"]))
    return hidden


def _sheet_part(archive: zipfile.ZipFile, sheet_name: str) -> str | None:
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    relation = None
    for sheet in workbook.iter(f"{{{_MAIN}}}sheet"):
        if sheet.get("name") == sheet_name:
            relation = sheet.get(f"{{{_REL}}}id")
    if relation is None:
        return None
    relations = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    for item in relations.iter(f"{{{_PKG_REL}}}Relationship"):
        if item.get("Id") == relation:
            target = item.get("Target", "")
            return target.lstrip("/") if target.startswith("/") else posixpath.join("xl", target)
    return None
