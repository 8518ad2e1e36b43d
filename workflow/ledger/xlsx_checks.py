"""Reading an untrusted .xlsx sheet for `gongwen import`, with every check before and while it is
read, each refusal one line (BadInput, exit 4) naming the file or the sheet!cell:

- a regular file of at most MAX_FILE_BYTES (checked before it is read);
- not an OLE/CFB container (D0 CF 11 E0: an encrypted workbook, or an old .xls), a zip holding
  xl/workbook.xml (so not a .docx, nor a text file renamed .xlsx), at most MAX_MEMBERS members
  whose declared sizes add up to at most MAX_UNCOMPRESSED (a zip bomb is refused unopened;
  zipfile never reads past a member's declared size);
- no merged cells (the header's or a row's: a merged cell's value is in its first cell only);
- at most MAX_ROWS rows under the header and MAX_COLUMNS columns (never read further);
- no formula (data_type 'f', read with data_only=False) nor error value where a value is due.

openpyxl reads in read_only mode, from the bytes already read (the file is opened once)."""

from __future__ import annotations

import hashlib
import io
import posixpath
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from workflow import inputs
from workflow.errors import BadInput
from workflow.i18n import _

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_UNCOMPRESSED = 200 * 1024 * 1024
MAX_MEMBERS = 5_000
MAX_ROWS = 10_000
MAX_COLUMNS = 200
CFB_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"


@dataclass
class Sheet:
    """One sheet as read: its header (column number -> text) and rows (row number -> {column number:
    value}), empty rows left out; the file's name and sha256."""

    name: str
    file_name: str
    sha256: str
    header: dict[int, str] = field(default_factory=dict)
    rows: list[tuple[int, dict[int, Any]]] = field(default_factory=list)


def cell_ref(row: int, column: int) -> str:
    from openpyxl.utils import get_column_letter

    return f"{get_column_letter(column)}{row}"


def read_sheet(path: str | Path, wanted: str) -> Sheet:
    """The sheet named `wanted` of the workbook at `path` (else its first sheet), checked."""
    name = str(path)
    data = inputs.read_regular_file(path, limit=MAX_FILE_BYTES, label=name)
    archive = _container(data, name)
    with archive:
        parts = _sheet_parts(archive, name)
        title = wanted if wanted in parts else next(iter(parts))
        merged = _merged(archive, parts[title])
    if merged:
        said = _("merged cells in the header") if _in_header(merged[0]) else _("merged cells")
        raise BadInput(_("{where}: {said} (unmerge them and fill every cell)").format(
            where=f"{title}!{merged[0]}", said=said), reason="merged_cells")
    sheet = Sheet(name=title, file_name=Path(name).name, sha256=hashlib.sha256(data).hexdigest())
    _read_cells(sheet, data, name)
    return sheet


def _container(data: bytes, name: str) -> zipfile.ZipFile:
    if data.startswith(CFB_MAGIC):
        raise BadInput(_("{file}: an encrypted workbook or an old .xls (an OLE container), not an .xlsx: save it "
                         "unencrypted as .xlsx (Excel Workbook)").format(file=name), reason="encrypted")
    if not data:
        raise BadInput(_("{file}: an empty file, not an .xlsx workbook").format(file=name), reason="not_xlsx")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        raise BadInput(_("{file}: not an .xlsx workbook (not a zip container)").format(file=name),
                       reason="not_xlsx") from None
    names = {m.filename for m in members}
    if "xl/workbook.xml" not in names:
        archive.close()
        what = _("a Word document (.docx)") if "word/document.xml" in names else \
            _("a PowerPoint file") if "ppt/presentation.xml" in names else _("a zip file")
        raise BadInput(_("{file}: {what}, not an .xlsx workbook").format(file=name, what=what), reason="not_xlsx")
    if len(members) > MAX_MEMBERS or sum(m.file_size for m in members) > MAX_UNCOMPRESSED:
        archive.close()
        raise BadInput(_("{file}: too large unpacked ({parts} parts, {size:.0f} MB; the limit is {limit} parts, "
                         "{limit_mb} MB)").format(file=name, parts=len(members),
                                                  size=sum(m.file_size for m in members) / 1048576,
                                                  limit=MAX_MEMBERS, limit_mb=MAX_UNCOMPRESSED // 1048576),
                       reason="too_large")
    return archive


def _xml(archive: zipfile.ZipFile, part: str, name: str) -> ElementTree.Element:
    try:
        return ElementTree.fromstring(archive.read(part))
    except (KeyError, ElementTree.ParseError, zipfile.BadZipFile, ValueError, EOFError):
        raise BadInput(_("{file}: not a readable .xlsx workbook ({part} is missing or damaged)").format(
            file=name, part=part), reason="not_xlsx") from None


def _sheet_parts(archive: zipfile.ZipFile, name: str) -> dict[str, str]:
    """{sheet title: its part in the zip}, in the workbook's order."""
    workbook = _xml(archive, "xl/workbook.xml", name)
    rels = _xml(archive, "xl/_rels/workbook.xml.rels", name)
    targets = {r.get("Id"): r.get("Target") or "" for r in rels.iter(f"{_PKG_REL}Relationship")}
    parts: dict[str, str] = {}
    for sheet in workbook.iter(f"{_MAIN}sheet"):
        target = targets.get(sheet.get(f"{_REL}id"), "")
        part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
        parts[sheet.get("name") or ""] = part
    if not parts:
        raise BadInput(_("{file}: the workbook has no sheet").format(file=name), reason="empty")
    return parts


def _merged(archive: zipfile.ZipFile, part: str) -> list[str]:
    """The merged ranges of a sheet part (read through, streaming: bounded by the zip's limits)."""
    found: list[str] = []
    try:
        with archive.open(part) as source:
            for _, element in ElementTree.iterparse(source):
                if element.tag == f"{_MAIN}mergeCell":
                    found.append(element.get("ref") or "?")
                element.clear()
    except (KeyError, ElementTree.ParseError, zipfile.BadZipFile, EOFError):
        return []  # openpyxl says what is wrong with it next
    return found


def _in_header(ref: str) -> bool:
    from openpyxl.utils.cell import range_boundaries

    try:
        return range_boundaries(ref)[1] == 1
    except ValueError:
        return False


def _read_cells(sheet: Sheet, data: bytes, name: str) -> None:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many kinds on a damaged part
        raise BadInput(_("{file}: not a readable .xlsx workbook ({what})").format(file=name, what=type(exc).__name__),
                       reason="not_xlsx") from None
    try:
        worksheet = workbook[sheet.name]
        for cells in worksheet.iter_rows(min_row=1, max_row=MAX_ROWS + 2, max_col=MAX_COLUMNS + 1):
            values: dict[int, Any] = {}
            row = 0
            for cell in cells:
                value = getattr(cell, "value", None)
                if value is None or value == "":
                    continue
                row, column = cell.row, cell.column
                ref = f"{sheet.name}!{cell_ref(row, column)}"
                if column > MAX_COLUMNS:
                    raise BadInput(_("{where}: more than {n} columns").format(where=ref, n=MAX_COLUMNS),
                                   reason="too_large")
                if cell.data_type == "f":
                    raise BadInput(_("{where}: a formula ({formula}) where a value is due: paste the values "
                                     "instead (Paste Special → Values)").format(where=ref, formula=str(value)[:40]),
                                   reason="formula")
                if cell.data_type == "e":
                    raise BadInput(_("{where}: an error value {value} where a value is due").format(
                        where=ref, value=value), reason="bad_value")
                values[column] = value
            if not values:
                continue
            if row > MAX_ROWS + 1:
                raise BadInput(_("{where}: more than {n} rows under the header").format(
                    where=f"{sheet.name}!{row}", n=MAX_ROWS), reason="too_large")
            if not sheet.header:
                if row != 1:
                    raise BadInput(_("{where}: the header row (row 1) is empty").format(where=f"{sheet.name}!A1"),
                                   reason="empty")
                sheet.header = {c: _header_text(v) for c, v in values.items()}
            else:
                sheet.rows.append((row, values))
    except BadInput:
        raise
    except Exception as exc:
        raise BadInput(_("{file}: sheet {sheet} cannot be read ({what})").format(
            file=name, sheet=sheet.name, what=type(exc).__name__), reason="not_xlsx") from None
    finally:
        workbook.close()
    if not sheet.header:
        raise BadInput(_("{sheet}: the sheet is empty").format(sheet=sheet.name), reason="empty")
    if not sheet.rows:
        raise BadInput(_("{sheet}: no rows under the header").format(sheet=sheet.name), reason="empty")


def _header_text(value: Any) -> str:
    return " ".join(str(value).split())
