"""The shipped templates follow GB/T 9704-2012 where it fixes numbers: A4, margins, red
发文机关标志, 2号 title, 3号 body, page numbers `— N —`, and East Asian language zh-CN; each official
one says its format (文件 / 信函 / 公告) in the custom property gongwen_format, and every template
renders with the sample contexts of tools/sample_context.py (full, minimal, as a handed-out form)."""

from __future__ import annotations

import io
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
# the official templates by format (GB/T 9704: 文件格式, 信函格式 §10.1, 公告 without 版头)
FORMATS = {
    "文件": ["plan/印发通知.docx", "inspection/督导结果通报.docx", "clean_school/推荐文件.docx",
             "clean_school/命名决定.docx", "clean_school/撤销通报.docx"],
    "信函": ["inspection/督导通知书.docx", "inspection/督导意见书.docx", "inspection/整改通知书.docx",
             "inspection/整改复查报告.docx", "clean_school/不予认定通知.docx", "clean_school/限期整改通知.docx"],
    "公告": ["clean_school/公示公告.docx", "clean_school/公示结果.docx"],
}
OFFICIAL = [name for names in FORMATS.values() for name in names]
FILES = FORMATS["文件"]
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
    assert len(TEMPLATES) >= 40


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_east_asian_language_is_zh_cn(path):
    from lxml import etree

    styles = etree.fromstring(zipfile.ZipFile(path).read("word/styles.xml"))
    default = styles.find(f"{W}docDefaults/{W}rPrDefault/{W}rPr/{W}lang")
    assert default is not None and default.get(f"{W}eastAsia") == "zh-CN"
    fonts = styles.find(f"{W}docDefaults/{W}rPrDefault/{W}rPr/{W}rFonts")
    assert fonts.get(f"{W}eastAsia") == "仿宋_GB2312"


def gongwen_format(path: Path) -> str | None:
    """The custom document property gongwen_format of a template, or None."""
    from lxml import etree

    with zipfile.ZipFile(path) as z:
        if "docProps/custom.xml" not in z.namelist():
            return None
        root = etree.fromstring(z.read("docProps/custom.xml"))
    return next(("".join(p.itertext()) for p in root if p.get("name") == "gongwen_format"), None)


def test_every_official_template_says_its_format_and_no_other_does():
    formats = {f"{p.parent.name}/{p.name}": gongwen_format(p) for p in TEMPLATES}
    assert {name: kind for name, kind in formats.items() if kind} == \
        {name: kind for kind, names in FORMATS.items() for name in names}


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
    kind = gongwen_format(REPO / "templates_docx" / name)
    marks = [p for p in document.paragraphs if p.style.name == "GW Issuer Mark"]
    if kind == "文件":
        assert "issuer_name" in marks[0].text and marks[0].text.endswith("文件")
        assert str(marks[0].runs[0].font.color.rgb) == "FF0000"
    else:
        assert not marks and not [p for p in document.paragraphs if p.style.name == "GW Record"]
    footer_xml = section.footer._element.xml
    assert "PAGE" in footer_xml and "—" in footer_xml


@pytest.mark.parametrize("name", FORMATS["信函"])
def test_letters_have_the_letter_head_on_page_one_only(name):
    """信函格式 (GB/T 9704 §10.1): a different first page whose header holds the red 标志 (no 文件)
    30 mm from the top of the page and a thick-over-thin red double line, whose footer holds only
    the thin-over-thick double line 20 mm above the bottom edge (no page number); both lines 170 mm
    long, centred (20–190 mm); the 发文字号 flush right in the text's first line."""
    document = docx.Document(str(REPO / "templates_docx" / name))
    section = document.sections[0]
    assert section.different_first_page_header_footer
    assert twips(section.header_distance) == 1701 and twips(section.footer_distance) == 1134
    mark, line = section.first_page_header.paragraphs
    assert mark.style.name == "GW Issuer Mark" and "issuer_name" in mark.text and "文件" not in mark.text
    assert str(mark.runs[0].font.color.rgb) == "FF0000"

    def borders(paragraph):
        ppr = paragraph._p.pPr
        ind = ppr.find(qn("w:ind"))
        assert (int(ind.get(qn("w:left"))), int(ind.get(qn("w:right")))) == (1134 - 1588, 1134 - 1474)
        return [(int(b.get(qn("w:sz"))), b.get(qn("w:color"))) for b in ppr.find(qn("w:pBdr"))]

    assert borders(line) == [(18, "FF0000"), (6, "FF0000")]             # 上粗下细
    (foot,) = section.first_page_footer.paragraphs
    assert borders(foot) == [(6, "FF0000"), (18, "FF0000")]             # 上细下粗
    assert "PAGE" not in section.first_page_footer._element.xml
    number = next(p for p in document.paragraphs if p.style.name == "GW Doc Number")
    assert "numbers." in number.text and number.text.startswith("\t")   # 份号/密级 would go first
    assert number._p.pPr.find(qn("w:tabs"))[0].get(qn("w:val")) == "right"


def test_the_upward_report_has_its_signer_on_the_number_line():
    """上行文 (推荐文件): the 发文字号 居左空一字 and 签发人：(仿宋) + name (楷体) 居右空一字 on one line."""
    document = docx.Document(str(REPO / "templates_docx" / "clean_school" / "推荐文件.docx"))
    number = [p for p in document.paragraphs if p.style.name == "GW Doc Number" and p.text.strip()][-1]
    assert number.text.startswith("{{ numbers.recommend_number") and "\t签发人：" in number.text
    assert number.runs[-1].element.rPr.rFonts.get(qn("w:eastAsia")) == "楷体_GB2312"
    ind = number._p.pPr.find(qn("w:ind"))
    assert (ind.get(qn("w:left")), ind.get(qn("w:right"))) == ("320", "320")


def sample_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("gongwen_sample_context", REPO / "tools" / "sample_context.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_template_renders_with_the_sample_contexts(path):
    """Full, minimal (only required fields, no numbers, no history) and handed-out-form contexts."""
    from workflow.documents.renderer import render

    module = sample_module()
    for options in ({}, {"minimal": True}, {"form": True}):
        data = render(path, module.sample_context(path.parent.name, template=path.name, **options))
        text = "".join(t.text or "" for t in docx.Document(io.BytesIO(data)).element.iter(qn("w:t")))
        assert "{{" not in text and "{%" not in text


def test_sample_settings_name_the_issuer_of_the_step():
    """命名决定 is the city's (its step says issuer: city), 推荐文件 the county bureau's; every issuer
    is in settings.issuers."""
    module = sample_module()
    city = module.sample_context("clean_school", template="命名决定.docx")["settings"]
    county = module.sample_context("clean_school", template="推荐文件.docx")["settings"]
    assert city["issuer_name"] == "某某市教育局" and county["issuer_name"] == "某某县教育局"
    assert set(city["issuers"]) == {"bureau", "supervision", "city"}


@pytest.mark.parametrize("name", FILES)
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
