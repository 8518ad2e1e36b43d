"""The compile-once .docx renderer (workflow/renderer.py) on templates built here with python-docx:
tags in body paragraphs, a table, a header, a footer and the core properties, several of them
split over runs the way Word splits them. Outputs are read back with python-docx."""

from __future__ import annotations

import hashlib
import io
import json
import os
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import docx
import pytest
from docx.oxml.ns import qn

from workflow.documents import renderer
from workflow.documents.renderer import InlineImage, TemplateError, compile_template, render
from workflow.errors import BAD_INPUT, BadInput

REPO = Path(__file__).resolve().parents[1]
NASTY = "A&B <公司> \"引号\" 'x' &amp; ]]> 教育局"  # every XML-reserved character, Chinese, an entity


def png(width: int, height: int, rgb=(200, 30, 30)) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def runs(paragraph, *texts) -> None:
    """Text as several runs, the way Word stores a tag it split (`{{ na` + `me }}`)."""
    for text in texts:
        paragraph.add_run(text)


def save(document, path: Path) -> Path:
    document.save(str(path))
    return path


@pytest.fixture
def template(tmp_path) -> Path:
    """Tags everywhere docxtpl allows them, several split over runs."""
    document = docx.Document()
    document.core_properties.title = "{{ title }}"
    document.core_properties.subject = "{{ value }}"
    runs(document.add_paragraph(), "Hello {{ na", "me }}!")
    runs(document.add_paragraph(), "值：{{ val", "ue ", "}}。")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "名称", "值"
    runs(table.cell(1, 0).paragraphs[0], "{{ name }}")
    runs(table.cell(1, 1).paragraphs[0], "{", "{ value }", "}")
    section = document.sections[0]
    runs(section.header.paragraphs[0], "页眉 {{ val", "ue }}")
    runs(section.footer.paragraphs[0], "页脚 {{ ", "title }}")
    return save(document, tmp_path / "通知.docx")


def read(blob: bytes) -> dict:
    document = docx.Document(io.BytesIO(blob))
    section = document.sections[0]
    return {"body": [p.text for p in document.paragraphs],
            "cells": [[cell.text for cell in row.cells] for row in document.tables[0].rows]
            if document.tables else [],
            "header": [p.text for p in section.header.paragraphs],
            "footer": [p.text for p in section.footer.paragraphs],
            "title": document.core_properties.title, "subject": document.core_properties.subject}


def test_the_fixture_really_splits_its_tags(template):
    """The tests below are only meaningful if Word-style split tags are in the template."""
    with zipfile.ZipFile(template) as archive:
        body = archive.read("word/document.xml").decode("utf-8")
        header = archive.read("word/header1.xml").decode("utf-8")
    assert "{{ na</w:t>" in body and "{{ val</w:t>" in body and ">{</w:t>" in body
    assert "{{ val</w:t>" in header


# -- (b) values with & < > " ' and Chinese in body, table cells, headers, footers, properties ---
def test_values_come_out_verbatim_everywhere(template):
    out = render(template, {"name": "张三", "value": NASTY, "title": "关于<开展>检查的通知&附件"})
    got = read(out)
    assert got["body"] == ["Hello 张三!", f"值：{NASTY}。"]
    assert got["cells"] == [["名称", "值"], ["张三", NASTY]]
    assert got["header"] == [f"页眉 {NASTY}"]
    assert got["footer"] == ["页脚 关于<开展>检查的通知&附件"]
    assert got["title"] == "关于<开展>检查的通知&附件"
    assert got["subject"] == NASTY


def test_a_value_never_becomes_markup(template):
    """A value that looks like WordprocessingML stays text: no extra run, no bold."""
    out = render(template, {"name": "</w:t></w:r><w:r><w:rPr><w:b/></w:rPr><w:t>x", "value": "v", "title": "t"})
    document = docx.Document(io.BytesIO(out))
    first = document.paragraphs[0]
    assert first.text == "Hello </w:t></w:r><w:r><w:rPr><w:b/></w:rPr><w:t>x!"
    assert not any(run.bold for run in first.runs)


def test_line_breaks_and_tabs_in_values_become_w_br_and_w_tab(template):
    out = render(template, {"name": "第一行\n第二行\r\n第三行", "value": "甲\t乙", "title": "t"})
    document = docx.Document(io.BytesIO(out))
    first = document.paragraphs[0]
    assert first.text == "Hello 第一行\n第二行\n第三行!"
    assert len(first._p.findall(f".//{qn('w:br')}")) == 2
    assert len(first._p.findall(f".//{qn('w:tab')}")) == 0
    assert document.tables[0].cell(1, 0).paragraphs[0]._p.findall(f".//{qn('w:br')}")
    assert document.paragraphs[1].text == "值：甲\t乙。"
    assert len(document.paragraphs[1]._p.findall(f".//{qn('w:tab')}")) == 1
    assert not any("\n" in (t.text or "") or "\t" in (t.text or "")
                   for t in document.element.body.iter(qn("w:t")))  # no raw control characters left


# -- (a) same template and context -> same bytes, in this process and in another ---------------
SUBPROCESS = """
import hashlib, json, sys
from workflow.documents.renderer import InlineImage, render
template, picture, context = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
context["photo"] = InlineImage(picture, width_mm=30)
sys.stdout.write(hashlib.sha256(render(template, context)).hexdigest())
"""


def test_same_bytes_twice_and_across_processes(tmp_path):
    document = docx.Document()
    document.core_properties.title = "{{ title }}"
    runs(document.add_paragraph(), "{{ name }} {{ photo }}")
    runs(document.sections[0].header.paragraphs[0], "{{ title }}")
    path = save(document, tmp_path / "t.docx")
    picture = tmp_path / "p.png"
    picture.write_bytes(png(20, 10))
    plain = {"name": "李四 & <王五>", "title": "关于开展检查的通知", "items": {"b": 2, "a": 1}}

    first = render(path, dict(plain, photo=InlineImage(picture, width_mm=30)))
    second = render(path, dict(plain, photo=InlineImage(picture, width_mm=30)))
    renderer._CACHE.clear()  # a fresh compile gives the same bytes too
    third = compile_template(path.read_bytes()).render(dict(plain, photo=InlineImage(picture, width_mm=30)))
    assert first == second == third
    docx.Document(io.BytesIO(first))  # and it opens

    env = dict(os.environ, PYTHONHASHSEED="12345", PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, "-c", SUBPROCESS, str(path), str(picture), json.dumps(plain)],
                            capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == hashlib.sha256(first).hexdigest()


def test_zip_members_have_fixed_timestamps_and_template_order(template):
    out = render(template, {"name": "n", "value": "v", "title": "t"})
    with zipfile.ZipFile(template) as original, zipfile.ZipFile(io.BytesIO(out)) as rendered:
        assert rendered.namelist() == original.namelist()
        assert {info.date_time for info in rendered.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert rendered.testzip() is None


# -- (c) errors name the template, the part and the paragraph ----------------------------------
def test_syntax_error_names_template_part_and_paragraph(tmp_path):
    document = docx.Document()
    document.add_paragraph("第一段")
    runs(document.add_paragraph(), "第二段 {% if ", "urgent %}特急")
    document.add_paragraph("第三段")
    path = save(document, tmp_path / "发文稿纸.docx")
    with pytest.raises(TemplateError) as caught:
        compile_template(path)
    error = caught.value
    assert error.exit_code == BAD_INPUT and isinstance(error, BadInput)
    assert error.message.startswith("发文稿纸.docx: body: syntax error:")
    assert "第二段 {% if urgent %}特急" in error.message
    assert error.details["paragraph"] == "第二段 {% if urgent %}特急"
    assert error.details["template"] == "发文稿纸.docx" and error.details["part"] == "body"


def test_syntax_error_in_a_header_names_the_header(tmp_path):
    document = docx.Document()
    document.add_paragraph("正文")
    runs(document.sections[0].header.paragraphs[0], "页眉 {{ title ", "| }}")
    path = save(document, tmp_path / "t.docx")
    with pytest.raises(TemplateError) as caught:
        render(path, {"title": "x"}, name="plan/通知.docx")
    assert caught.value.details["template"] == "plan/通知.docx"
    assert caught.value.details["part"] == "header1"
    assert caught.value.details["paragraph"] == "页眉 {{ title | }}"


@pytest.mark.parametrize("where", ["body", "cell", "footer"])
def test_undefined_variable_names_template_part_and_paragraph(tmp_path, where):
    document = docx.Document()
    document.add_paragraph("第一段 {{ known }}")
    paragraph = {"body": lambda: document.add_paragraph(),
                 "cell": lambda: document.add_table(rows=1, cols=1).cell(0, 0).paragraphs[0],
                 "footer": lambda: document.sections[0].footer.paragraphs[0]}[where]()
    runs(paragraph, "联系人：{{ cont", "act }}（电话）")
    document.add_paragraph("第三段")
    path = save(document, tmp_path / "t.docx")
    with pytest.raises(TemplateError) as caught:
        render(path, {"known": 1})
    error = caught.value
    part = "footer1" if where == "footer" else "body"
    assert error.message.startswith(f"t.docx: {part}: UndefinedError: 'contact' is undefined")
    assert error.details["paragraph"] == "联系人：{{ contact }}（电话）"
    # docxtpl's behaviour on request: an undefined variable prints as nothing
    out = render(path, {"known": 1}, strict=False)
    texts = read(out)
    assert "联系人：（电话）" in texts["body"] + texts["footer"] + [
        c.text for t in docx.Document(io.BytesIO(out)).tables for r in t.rows for c in r.cells]


def test_runtime_error_names_the_paragraph(tmp_path):
    document = docx.Document()
    runs(document.add_paragraph(), "金额：{{ amount|wan_yuan }}")
    path = save(document, tmp_path / "t.docx")
    with pytest.raises(TemplateError) as caught:
        render(path, {"amount": "很多"})
    assert "wan_yuan" in caught.value.message and caught.value.details["paragraph"] == "金额：{{ amount|wan_yuan }}"


def test_not_a_docx_is_a_template_error():
    with pytest.raises(TemplateError) as caught:
        render(b"PK but not a zip", {}, name="x.docx")
    assert caught.value.message.startswith("x.docx: file: not a .docx")


# -- sandbox and strict XML ---------------------------------------------------------------------
@pytest.mark.parametrize("expression", ["''.__class__", "name.__class__.__mro__", "(name|attr('__class__'))",
                                        "lipsum.__globals__", "name.__init__.__globals__"])
@pytest.mark.parametrize("strict", [True, False])
def test_sandbox_blocks_python_internals(tmp_path, expression, strict):
    document = docx.Document()
    runs(document.add_paragraph(), "前 {{ " + expression + " }} 后")
    path = save(document, tmp_path / "evil.docx")
    with pytest.raises(TemplateError) as caught:
        render(path, {"name": "张三"}, strict=strict)
    assert caught.value.exit_code == BAD_INPUT
    assert "SecurityError" in caught.value.message and "unsafe" in caught.value.message
    assert caught.value.details["paragraph"] == "前 {{ " + expression + " }} 后"


def test_a_rendered_part_that_is_not_well_formed_is_refused(tmp_path):
    """`|safe` lets markup through: the result is parsed strictly and refused, never recovered."""
    document = docx.Document()
    runs(document.add_paragraph(), "{{ raw|safe }}")
    path = save(document, tmp_path / "t.docx")
    assert read(render(path, {"raw": "</w:t><w:tab/><w:t>"}))["body"] == ["\t"]  # well-formed passes
    with pytest.raises(TemplateError) as caught:
        render(path, {"raw": "</w:t></w:r></w:p><w:p>"})
    assert "not well-formed" in caught.value.message and caught.value.details["part"] == "body"


def test_a_block_that_cuts_through_a_table_is_refused(tmp_path):
    """`{% if %}` in a paragraph closed inside a table cell: false drops half of the table."""
    document = docx.Document()
    runs(document.add_paragraph(), "前 {% if show %}")
    runs(document.add_table(rows=1, cols=1).cell(0, 0).paragraphs[0], "{% endif %} 后")
    path = save(document, tmp_path / "t.docx")
    assert read(render(path, {"show": True}))["cells"] == [[" 后"]]
    with pytest.raises(TemplateError) as caught:
        render(path, {"show": False})
    assert "not well-formed" in caught.value.message


# -- inline images ------------------------------------------------------------------------------
def pictures_in(blob: bytes) -> dict:
    """part name -> [(image bytes, cx, cy)] for every drawing, through the part's relationships."""
    from docx.opc.constants import RELATIONSHIP_TYPE as RT

    document = docx.Document(io.BytesIO(blob))
    parts = [document.part] + [r.target_part for r in document.part.rels.values()
                               if r.reltype in (RT.HEADER, RT.FOOTER)]
    found = {}
    for part in parts:
        found[str(part.partname)] = [
            (part.rels[blip.get(qn("r:embed"))].target_part.blob, int(extent.get("cx")), int(extent.get("cy")))
            for drawing in part.element.iter(qn("w:drawing"))
            for extent, blip in zip(drawing.iter(qn("wp:extent")), drawing.iter(qn("a:blip")))]
    return found


def test_inline_images_in_body_table_rows_and_header(tmp_path):
    document = docx.Document()
    runs(document.add_paragraph(), "照片：{{ pho", "to }}（整改后）")
    table = document.add_table(rows=4, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "隐患", "照片"
    table.cell(1, 0).text = "{%tr for f in findings %}"
    runs(table.cell(2, 0).paragraphs[0], "{{ f.desc }}")
    runs(table.cell(2, 1).paragraphs[0], "{{ f.photo }}")
    table.cell(3, 0).text = "{%tr endfor %}"
    runs(document.sections[0].header.paragraphs[0], "{{ logo }} 某教育局")
    path = save(document, tmp_path / "t.docx")
    red, blue, green = png(40, 20), png(10, 10, (0, 0, 255)), png(16, 8, (0, 200, 0))
    (tmp_path / "red.png").write_bytes(red)

    out = render(path, {"photo": InlineImage(tmp_path / "red.png", width_mm=60),
                        "findings": [{"desc": "灭火器过期", "photo": InlineImage(blue, height_mm=10)},
                                     {"desc": "通道堵塞", "photo": InlineImage(green, width_mm=20, height_mm=5)},
                                     {"desc": "同一张", "photo": InlineImage(red, height_mm=15)}],
                        "logo": InlineImage(blue, width_mm=8)})
    mm = 36000
    found = pictures_in(out)
    assert found["/word/document.xml"] == [(red, 60 * mm, 30 * mm), (blue, 10 * mm, 10 * mm),
                                           (green, 20 * mm, 5 * mm), (red, 30 * mm, 15 * mm)]
    assert found["/word/header1.xml"] == [(blue, 8 * mm, 8 * mm)]
    got = docx.Document(io.BytesIO(out))
    assert got.paragraphs[0].text == "照片：（整改后）"
    assert [[c.text for c in row.cells] for row in got.tables[0].rows] == [
        ["隐患", "照片"], ["灭火器过期", ""], ["通道堵塞", ""], ["同一张", ""]]
    with zipfile.ZipFile(io.BytesIO(out)) as archive:
        media = sorted(n for n in archive.namelist() if n.startswith("word/media/"))
        assert len(media) == 3  # the same picture twice is stored once
        assert 'Extension="png"' in archive.read("[Content_Types].xml").decode()
        ids = [e.get("id") for name in ("word/document.xml", "word/header1.xml")
               for e in docx.oxml.parse_xml(archive.read(name)).iter(qn("wp:docPr"))]
        assert len(ids) == len(set(ids)) == 5


def test_an_image_outside_a_render_is_refused():
    with pytest.raises(BadInput):
        InlineImage(png(2, 2)).__html__()


# -- filters, docxtpl tag forms, variables ------------------------------------------------------
def test_chinese_filters_in_a_template(tmp_path):
    document = docx.Document()
    runs(document.add_paragraph(), "{{ d|cn_date }}")
    runs(document.add_paragraph(), "{{ d|cn_date_upper }}")
    runs(document.add_paragraph(), "{{ 12|doc_number('X教发', 2024) }}")
    runs(document.add_paragraph(), "{{ amount|wan_yuan }}")
    runs(document.add_paragraph(), "抄送：{{ cc|cn_list }}")
    path = save(document, tmp_path / "t.docx")
    out = render(path, {"d": "2024-03-01", "amount": 125000, "cc": ["A", "B", "C"]})
    assert read(out)["body"] == ["2024年3月1日", "二〇二四年三月一日", "X教发〔2024〕12号", "12.5万元",
                                 "抄送：A，B，C。"]


def test_element_tags_and_comments(tmp_path):
    document = docx.Document()
    document.add_paragraph("{%p if urgent %}")
    runs(document.add_paragraph(), "特急：{{ title }}")
    document.add_paragraph("{%p else %}")
    document.add_paragraph("普通")
    document.add_paragraph("{%p endif %}")
    document.add_paragraph("{#p 这一段是注释 #}")
    runs(document.add_paragraph(), "你好{# 行内注释 #}世界")
    path = save(document, tmp_path / "t.docx")
    assert read(render(path, {"urgent": True, "title": "通知"}))["body"] == ["特急：通知", "你好世界"]
    assert read(render(path, {"urgent": False, "title": "通知"}))["body"] == ["普通", "你好世界"]


def test_a_run_tag_sharing_its_run_with_text(tmp_path):
    """`{%r if %}` typed in the middle of a sentence replaces only itself (as in docxtpl), and
    the surrounding text keeps its run's formatting."""
    document = docx.Document()
    document.add_paragraph().add_run("请于{%r if urgent %}今日{%r endif %}下班前报送。").bold = True
    path = save(document, tmp_path / "t.docx")
    for urgent, text in ((True, "请于今日下班前报送。"), (False, "请于下班前报送。")):
        paragraph = docx.Document(io.BytesIO(render(path, {"urgent": urgent}))).paragraphs[0]
        assert paragraph.text == text
        assert all(run.bold for run in paragraph.runs)


def test_literal_braces_escape(tmp_path):
    document = docx.Document()
    runs(document.add_paragraph(), "写 {_{ name }_} 或 {_% if x %_}：{{ name }}")
    path = save(document, tmp_path / "t.docx")
    assert read(render(path, {"name": "张三"}))["body"] == ["写 {{ name }} 或 {% if x %}：张三"]


def test_variables_lists_what_the_template_reads(template):
    assert compile_template(template).variables() == {"name", "value", "title"}


def test_compiled_once_and_cached_by_content(template, tmp_path):
    copy = tmp_path / "copy.docx"
    copy.write_bytes(template.read_bytes())
    assert compile_template(template) is compile_template(template)
    assert compile_template(copy, name="通知.docx") is compile_template(template)
    assert compile_template(template, strict=False) is not compile_template(template)
