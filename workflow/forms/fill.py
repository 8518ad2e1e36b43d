"""Filling in an approval form the way supervisors do it in Word, WPS or LibreOffice: for the
demo (a rehearsal of the real round trip) and the tests. Works on the .docx XML directly.

Ways to mark the decision (`how`): "checkbox" (tick the content control, as a click in Word
does), a mark character typed or pasted in front of the option ("☑", "☒", "■", "√", "✓", "✔"),
"delete" (remove the other options), "opinion" (leave the boxes, write the decision in 领导批示)."""

from __future__ import annotations

import io
import zipfile

from lxml import etree

from workflow.definition.model import FormSpec
from workflow.documents import docx_read
from workflow.documents.docx_read import W14, W


def _label_value_cells(body: etree._Element, label: str) -> etree._Element:
    for cells in docx_read.rows(body):
        for index, cell in enumerate(cells[:-1]):
            if docx_read.norm(docx_read.text(cell)) == label:
                return cells[index + 1]
    raise KeyError(f"no cell labelled {label}")


def _set_cell_text(cell: etree._Element, text: str) -> None:
    """Replace the cell's content by one paragraph holding `text` (keeps the first paragraph's
    properties, as typing over a cell does)."""
    paragraphs = cell.findall(f"{W}p")
    first = paragraphs[0]
    for extra in paragraphs[1:]:
        cell.remove(extra)
    for child in list(first):
        if child.tag != f"{W}pPr":
            first.remove(child)
    run = etree.SubElement(first, f"{W}r")
    t = etree.SubElement(run, f"{W}t")
    t.text = text
    t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")


def _mark(cell: etree._Element, option: str, how: str, options: list[str]) -> None:
    if how == "checkbox":
        for sdt in cell.iter(f"{W}sdt"):
            tag = sdt.find(f"{W}sdtPr/{W}tag")
            if tag is not None and tag.get(f"{W}val") == f"gw-decision-{option}":
                sdt.find(f"{W}sdtPr/{W14}checkbox/{W14}checked").set(f"{W14}val", "1")
                for t in sdt.iter(f"{W}t"):
                    t.text = "☒"
                return
        raise KeyError(f"no checkbox for {option}")
    if how == "delete":
        _set_cell_text(cell, option)
        return
    # a typed mark replaces the empty box in front of the option
    text = docx_read.text(cell, decisions=True)
    parts = [("☐" + o) for o in options]
    marked = [(how + o) if o == option else ("☐" + o) for o in options]
    _set_cell_text(cell, text.replace("\u3000".join(parts), "\u3000".join(marked)) if "\u3000".join(parts) in text
                   else "\u3000".join(marked))


def fill(blob: bytes, spec: FormSpec, decision: str | None, opinion: str = "", signer: str = "", date: str = "",
         how: str = "checkbox") -> bytes:
    """A copy of the form with the decision marked and the opinion, signer and date written."""
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        members = [(info, archive.read(info)) for info in archive.infolist()]
    document = next(data for info, data in members if info.filename == "word/document.xml")
    root = etree.fromstring(document)
    body = root.find(f"{W}body")
    options = list(spec.decisions)
    if decision is not None and how != "opinion":
        _mark(_label_value_cells(body, spec.decision_label), decision, how, options)
    if opinion:
        _set_cell_text(_label_value_cells(body, spec.opinion_label), opinion)
    if signer:
        _set_cell_text(_label_value_cells(body, spec.signer_label), signer)
    if date:
        _set_cell_text(_label_value_cells(body, spec.date_label), date)
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in members:
            if info.filename == "word/document.xml":
                data = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
            archive.writestr(info, data)
    return output.getvalue()
