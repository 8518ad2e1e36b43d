"""The shipped templates follow GB/T 9704-2012 where it fixes numbers: A4, margins, red
发文机关标志, 2号 title, 3号 body, page numbers `— N —`, and East Asian language zh-CN."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import docx
import pytest
from docx.oxml.ns import qn
from docx.shared import Pt

REPO = Path(__file__).resolve().parents[1]
TEMPLATES = sorted((REPO / "templates_docx").glob("*/*.docx"))
OFFICIAL = ["plan/印发通知.docx", "inspection/督导通知书.docx", "inspection/督导意见书.docx",
            "inspection/整改通知书.docx", "clean_school/公示公告.docx", "clean_school/不予认定通知.docx",
            "clean_school/撤销决定.docx"]
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def twips(length) -> int:
    return round(length / 635)


def effective_size(document, style_name):
    """The style's size, else its base styles', else the document default (w:sz, half-points)."""
    style = document.styles[style_name]
    while style is not None:
        if style.font.size is not None:
            return style.font.size
        style = style.base_style
    size = document.styles.element.find(f"{W}docDefaults/{W}rPrDefault/{W}rPr/{W}sz")
    return Pt(int(size.get(f"{W}val")) / 2)


def test_every_workflow_has_templates():
    assert {p.parent.name for p in TEMPLATES} == {"plan", "inspection", "clean_school"}
    assert len(TEMPLATES) >= 29


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_east_asian_language_is_zh_cn(path):
    from lxml import etree

    styles = etree.fromstring(zipfile.ZipFile(path).read("word/styles.xml"))
    default = styles.find(f"{W}docDefaults/{W}rPrDefault/{W}rPr/{W}lang")
    assert default is not None and default.get(f"{W}eastAsia") == "zh-CN"
    fonts = styles.find(f"{W}docDefaults/{W}rPrDefault/{W}rPr/{W}rFonts")
    assert fonts.get(f"{W}eastAsia") == "仿宋_GB2312"


@pytest.mark.parametrize("name", OFFICIAL)
def test_official_documents_have_the_gbt9704_page(name):
    document = docx.Document(str(REPO / "templates_docx" / name))
    section = document.sections[0]
    assert (twips(section.page_width), twips(section.page_height)) == (11906, 16838)  # A4
    margins = [twips(m) for m in (section.top_margin, section.left_margin, section.right_margin,
                                  section.bottom_margin)]
    assert margins == [2098, 1588, 1474, 1984]  # 天头 37 mm, 订口 28 mm, 版心 156×225 mm
    styles = document.styles
    assert styles["GW Title"].font.size == Pt(22)  # 2号
    assert effective_size(document, "GW Body") == Pt(16)  # 3号
    mark = next(p for p in document.paragraphs if p.style.name == "GW Issuer Mark")
    assert "issuer_name" in mark.text and str(mark.runs[0].font.color.rgb) == "FF0000"
    footer_xml = section.footer._element.xml
    assert "PAGE" in footer_xml and "—" in footer_xml


@pytest.mark.parametrize("name", OFFICIAL)
def test_official_documents_carry_the_record_block(name):
    """版记: 印发机关 and 印发日期 in the last table, which floats at the bottom of the type area
    (anchored after the body, so on the last page), with thick rules above and below."""
    document = docx.Document(str(REPO / "templates_docx" / name))
    record = document.tables[-1]
    text = "\n".join(cell.text for row in record.rows for cell in row.cells)
    assert "印发" in text and "|cn_date" in text
    assert record._tbl.getnext() is document.paragraphs[-1]._p  # nothing of the body after it
    position = record._tbl.tblPr.find(qn("w:tblpPr"))
    assert position is not None and position.get(qn("w:tblpYSpec")) == "bottom"
    assert position.get(qn("w:vertAnchor")) == "margin"
    borders = record._tbl.tblPr.find(qn("w:tblBorders"))
    assert [borders.find(qn(f"w:{side}")).get(qn("w:sz")) for side in ("top", "bottom")] == ["8", "8"]


def test_rebuilding_the_templates_gives_the_committed_bytes(tmp_path):
    """tools/build_templates.py, run into a temporary folder, writes every committed template
    byte for byte (and no other): the .docx files are the generator's output, not hand edits."""
    build = subprocess.run([sys.executable, str(REPO / "tools" / "build_templates.py"), "--out", str(tmp_path)],
                           cwd=tmp_path, capture_output=True, text=True, encoding="utf-8", timeout=300)
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-3000:]
    assert "warning" not in build.stdout
    built = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.glob("*/*.docx"))
    assert built == sorted(p.relative_to(REPO / "templates_docx").as_posix() for p in TEMPLATES)
    differ = [name for name in built
              if (tmp_path / name).read_bytes() != (REPO / "templates_docx" / name).read_bytes()]
    assert not differ, f"rebuilt templates differ from the committed ones: {differ}"
