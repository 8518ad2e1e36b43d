"""LibreOffice converts every shipped template, rendered with its sample context, to a PDF (one
soffice call for all of them); the Chinese text survives and the 版记 sits at the foot of the last
page (pdftotext, when poppler-utils is installed); without soffice, convert_to_pdf refuses with one
line. CI installs LibreOffice."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from workflow.documents import office
from workflow.documents.renderer import render
from workflow.errors import BadInput

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = ("plan", "inspection", "clean_school")


def sample_context(workflow_id: str) -> dict:
    spec = importlib.util.spec_from_file_location("gongwen_sample_context",
                                                  REPO / "tools" / "sample_context.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.sample_context(workflow_id)


def pdf_text(pdf: Path) -> str:
    done = subprocess.run(["pdftotext", "-layout", "-enc", "UTF-8", str(pdf), "-"],
                          capture_output=True, timeout=60, check=True)
    return done.stdout.decode("utf-8")


def last_page_lines(pdf: Path) -> tuple[int, float, list[tuple[float, str]]]:
    """(pages, page height in pt, [(yMax, text)] of the last page's lines) from pdftotext -bbox-layout."""
    done = subprocess.run(["pdftotext", "-bbox-layout", str(pdf), "-"], capture_output=True, timeout=60, check=True)
    pages = re.findall(r'<page width="[\d.]+" height="([\d.]+)">(.*?)</page>', done.stdout.decode("utf-8"), re.S)
    lines = [(float(y_max), "".join(re.findall(r">([^<]*)</word>", words))) for y_max, words in
             re.findall(r'<line xMin="[\d.]+" yMin="[\d.]+" xMax="[\d.]+" yMax="([\d.]+)">(.*?)</line>',
                        pages[-1][1], re.S)]
    return len(pages), float(pages[-1][0]), lines


def test_every_template_converts_to_pdf(tmp_path):
    if office.find_soffice() is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have LibreOffice: .ci/run installs libreoffice-writer-nogui")
        print("skipped: LibreOffice (soffice) is not installed; CI installs libreoffice-writer-nogui")
        pytest.skip("LibreOffice (soffice) is not installed: apt-get install libreoffice-writer")
    rendered = tmp_path / "docx"
    rendered.mkdir()
    files = []
    for workflow in WORKFLOWS:
        context = sample_context(workflow)
        templates = sorted((REPO / "templates_docx" / workflow).glob("*.docx"))
        assert templates, workflow
        for template in templates:
            path = rendered / f"{workflow}-{template.stem}.docx"  # stems repeat across workflows
            path.write_bytes(render(template, context))
            files.append(path)
    assert len(files) >= 29

    pdfs = office.convert_to_pdf(files, tmp_path / "pdf")  # one soffice call for all of them

    assert [p.stem for p in pdfs] == [f.stem for f in files]
    for pdf in pdfs:
        data = pdf.read_bytes()
        assert len(data) > 1000 and data.startswith(b"%PDF"), pdf.name

    if shutil.which("pdftotext") is None:
        print("not checked: the Chinese text in the PDF (pdftotext from poppler-utils is not installed)")
        return
    notice = pdf_text(tmp_path / "pdf" / "plan-印发通知.pdf")
    flat = "".join(notice.split())  # the layout may space or wrap characters
    assert "某某县教育局" in flat
    assert sample_context("plan")["numbers"]["doc_number"] in flat  # 某教发〔2024〕12号

    # GB/T 9704: the 版记 sits at the foot of the last page, its 印发 line the last of the type area
    with_record = [pdf for pdf, source in zip(pdfs, files)
                   if b'w:tblpYSpec="bottom"' in zipfile.ZipFile(source).read("word/document.xml")]
    assert len(with_record) >= 8
    for pdf in with_record:
        pages, height, lines = last_page_lines(pdf)
        bottom = height - 1984 / 20  # the type area ends 35 mm above the page's bottom edge
        printed = [y_max for y_max, text in lines if text.endswith("印发")]
        assert printed, (pdf.name, lines[-3:])
        assert bottom - 28.9 < printed[-1] <= bottom + 1, (pdf.name, pages, printed[-1], bottom)


def test_convert_to_pdf_without_soffice_is_one_line(tmp_path, monkeypatch):
    source = tmp_path / "a.docx"
    source.write_bytes(render(REPO / "templates_docx" / "plan" / "撤回说明.docx", sample_context("plan")))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(office, "_KNOWN", ())
    assert office.find_soffice() is None
    with pytest.raises(BadInput) as raised:
        office.convert_to_pdf([source], tmp_path / "out")
    message = raised.value.message
    assert message == ("--pdf needs LibreOffice (soffice), which is not installed: "
                       "apt-get install libreoffice-writer")
    assert "\n" not in message and not (tmp_path / "out").exists()


def test_the_signature_never_stands_alone_on_a_page(tmp_path):
    """GB/T 9704 allows no 孤章: the 署名 and 成文日期 never open a page with no text above them.
    The notice's last paragraph grows a line at a time (0 to 18 lines: it ends the text at the
    foot of page 1, then on each line of page 2 where it and the signature fit on one page); the
    signature must take the text's end along. (A last paragraph longer than that is split by Word,
    which keeps its last lines with the signature; LibreOffice moves a paragraph whole.)"""
    if office.find_soffice() is None or shutil.which("pdftotext") is None:
        print("skipped: needs LibreOffice and pdftotext (CI installs both)")
        pytest.skip("LibreOffice or pdftotext is not installed")
    files = []
    for lines in range(19):
        context = sample_context("plan")
        context.update(department="教育" * 14 * lines + "办公室", drafter_phone="0571-12345678")
        path = tmp_path / f"notice-{lines:02d}.docx"
        path.write_bytes(render(REPO / "templates_docx" / "plan" / "印发通知.docx", context))
        files.append(path)
    alone = []
    for pdf in office.convert_to_pdf(files, tmp_path / "pdf"):
        for page in pdf_text(pdf).split("\f"):
            text = [line.strip() for line in page.splitlines() if line.strip()]
            if "某某县教育局" in text and text.index("某某县教育局") == 0:
                alone.append(pdf.stem)
    assert not alone, alone
