"""docxtpl's own test templates (../shared/corpus/docxtpl/) rendered by docxtpl and by gongwen.

For every corpus template whose features gongwen supports (SUPPORTED below, the README of the
tests gives the reason for each one left out), both renderers get the context that docxtpl's test
script for that template uses; both outputs must open in python-docx and give the same text in
body paragraphs, table cells, headers, footers, footnotes and core properties. docxtpl renders
with autoescape=True (without it `&` or `<` in a value makes a broken file), gongwen with
strict=False (docxtpl prints an undefined variable as empty)."""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path

import docx
import pytest

from workflow.documents.renderer import InlineImage, TemplateError, compile_template, render

docxtpl = pytest.importorskip("docxtpl", reason="docxtpl is a test dependency: pip install -e '.[test]'")

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "docxtpl"
if not (CORPUS / "README.md").is_file():
    pytest.skip(f"the docxtpl corpus is not at {CORPUS}", allow_module_level=True)


# -- small pictures, made here (no network, no binary fixtures) --------------------------------
def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A solid-colour RGB PNG of a few hundred bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


@pytest.fixture
def pictures(tmp_path):
    """name -> path of a small PNG (the corpus's python.png, django.png… were not copied)."""
    colours = {"python_logo": (40, 90, 160), "python_jpeg": (250, 210, 40), "django": (10, 75, 50),
               "zope": (200, 30, 30), "pyramid": (150, 60, 150), "bottle": (90, 90, 90),
               "tornado": (30, 30, 200)}
    paths = {}
    for index, (name, rgb) in enumerate(colours.items()):
        path = tmp_path / f"{name}.png"
        path.write_bytes(png(12 + index, 8 + index, rgb))
        paths[name] = path
    return paths


class Images:
    """Builds the right InlineImage for each renderer from the same picture and size."""

    def __init__(self, engine: str, template, pictures: dict):
        self.engine, self.template, self.pictures = engine, template, pictures

    def __call__(self, name: str, width_mm: float | None = None, height_mm: float | None = None):
        path = self.pictures[name]
        if self.engine == "gongwen":
            return InlineImage(path, width_mm=width_mm, height_mm=height_mm)
        from docx.shared import Mm

        return docxtpl.InlineImage(self.template, str(path), width=width_mm and Mm(width_mm),
                                   height=height_mm and Mm(height_mm))


# -- the contexts of docxtpl's test scripts (tests/<name>.py) ----------------------------------
def _frameworks(img):
    descriptions = [("django", "The web framework for perfectionists with deadlines"),
                    ("zope", "Zope is a leading Open Source Application Server and Content Management Framework"),
                    ("pyramid", "Pyramid is a lightweight Python web framework aimed at taking small web apps "
                                "into big web apps."),
                    ("bottle", "Bottle is a fast, simple and lightweight WSGI micro web-framework for Python"),
                    ("tornado", "Tornado is a Python web framework and asynchronous networking library.")]
    return [{"image": img(name, height_mm=10), "desc": desc} for name, desc in descriptions]


def _undeclared_full(img):
    return {"name": "John Doe", "age": 25, "email": "john@example.com", "is_student": True, "has_degree": True,
            "degree_field": "Computer Science", "skills": ["Python", "Django", "JavaScript"],
            "projects": [{"name": "Project A", "year": 2023, "description": "A great project"},
                         {"name": "Project B", "year": 2024, "description": "Another great project"}],
            "company_name": "Test Corp", "page_number": 1, "generation_date": "2024-01-15",
            "author": "Test Author"}


def _undeclared_partial(img):
    return {"name": "John Doe", "age": 25, "email": "john@example.com", "is_student": True,
            "skills": ["Python", "Django"], "company_name": "Test Corp", "author": "Test Author"}


XML_RESERVED = "<\"&'>"
CONTEXTS = {
    # no tags at all (sources for docxtpl's embed/merge tests): must come out unchanged
    "embedded_dummy.docx": lambda img: {},
    "embedded_dummy2.docx": lambda img: {},
    "embedded_static_docx.docx": lambda img: {},
    "merge_docx_subdoc.docx": lambda img: {},
    # templates
    "comments_tpl.docx": lambda img: {},
    "doc_properties_tpl.docx": lambda img: {"test": "HelloWorld"},
    "embedded_embedded_docx_tpl.docx": lambda img: {"name": "John Doe"},
    "embedded_main_tpl.docx": lambda img: {"name": "John Doe"},
    "escape_tpl_auto.docx": lambda img: {
        "nested_dict": {name: char for name, char in zip(
            ["LESS-THAN SIGN", "QUOTATION MARK", "AMPERSAND", "APOSTROPHE", "GREATER-THAN SIGN"], XML_RESERVED)},
        "autoescape": 'Escaped "str & ing"!',
        "autoescape_unicode": "This is an escaped <unicode> example \u4f60 & \u6211",
        "iteritems": lambda x: x.items()},
    "footnotes_tpl.docx": lambda img: {"a_jinja_variable": "A Jinja variable!"},
    "get_undeclared_variables.docx": _undeclared_full,
    "get_undeclared_variables.docx#partial": _undeclared_partial,
    "header_footer_entities_tpl.docx": lambda img: {"title": "Header and footer test"},
    "header_footer_image_tpl.docx": lambda img: {"mycompany": "The World Wide company"},
    # without `mysubdoc`: the {{p}} Subdoc is not supported, both renderers print it as nothing
    "header_footer_tpl.docx": lambda img: {"title": "Header and footer test", "company_name": "The World Wide company",
                                           "date": "2016-03-17"},
    "header_footer_tpl_utf8.docx": lambda img: {"title": "헤더와 푸터", "company_name": "세계적 회사 & <주>",
                                                "date": "2016-03-17"},
    "header_footer_inline_image_tpl.docx": lambda img: {
        "inline_image": img("django", height_mm=10),
        "images": [img("python_logo", height_mm=10), img("zope", height_mm=10), img("bottle", height_mm=10)]},
    "inline_image_tpl.docx": lambda img: {
        "myimage": img("python_logo", width_mm=20),
        "myimageratio": img("python_jpeg", width_mm=30, height_mm=60),
        "frameworks": _frameworks(img)},
    "module_execute_tpl.docx": lambda img: json.loads((CORPUS / "module_execute.json").read_text("utf-8")),
    "multi_rendering_tpl.docx": lambda img: {"title": "Title ONE", "body": "This is the body for first document"},
    "multi_rendering_tpl.docx#2": lambda img: {"title": "Title TWO", "body": "This is the body for second document"},
    "multi_rendering_tpl.docx#3": lambda img: {"title": "Title THREE",
                                              "body": "This is the body for third document"},
    "nested_for_tpl.docx": lambda img: {
        "dishes": [{"name": "Pizza", "ingredients": ["bread", "tomato", "ham", "cheese"]},
                   {"name": "Hamburger", "ingredients": ["bread", "chopped steak", "cheese", "sauce"]},
                   {"name": "Apple pie", "ingredients": ["flour", "apples", "suggar", "quince jelly"]}],
        "authors": [{"name": "Saint-Exupery",
                     "books": [{"title": "Le petit prince"}, {"title": "L'aviateur"}, {"title": "Vol de nuit"}]},
                    {"name": "Barjavel",
                     "books": [{"title": "Ravage"}, {"title": "La nuit des temps"},
                               {"title": "Le grand secret"}]}]},
    "order_tpl.docx": lambda img: {
        "customer_name": "Eric",
        "items": [{"desc": "Python interpreters", "qty": 2, "price": "FREE"},
                  {"desc": "Django projects", "qty": 5403, "price": "FREE"},
                  {"desc": "Guido", "qty": 1, "price": "100,000,000.00"}],
        "in_europe": True, "is_paid": False, "company_name": "The World Wide company",
        "total_price": "100,000,000.00"},
    "order_tpl.docx#paid": lambda img: {
        "customer_name": "Zoé & <Cie>", "items": [], "in_europe": False, "is_paid": True,
        "company_name": "A&B \"公司\"", "total_price": "0.00"},
    "preserve_spaces_tpl.docx": lambda img: {"tag_1": "looking", "tag_2": "too"},
    "replace_picture_tpl.docx": lambda img: {},
}

SUPPORTED = [
    "comments_tpl.docx",
    "doc_properties_tpl.docx",
    "embedded_dummy.docx",
    "embedded_dummy2.docx",
    "embedded_embedded_docx_tpl.docx",
    "embedded_main_tpl.docx",
    "embedded_static_docx.docx",
    "escape_tpl_auto.docx",
    "footnotes_tpl.docx",
    "get_undeclared_variables.docx",
    "get_undeclared_variables.docx#partial",
    "header_footer_entities_tpl.docx",
    "header_footer_image_tpl.docx",
    "header_footer_inline_image_tpl.docx",
    "header_footer_tpl.docx",
    "header_footer_tpl_utf8.docx",
    "inline_image_tpl.docx",
    "merge_docx_subdoc.docx",
    "module_execute_tpl.docx",
    "multi_rendering_tpl.docx",
    "multi_rendering_tpl.docx#2",
    "multi_rendering_tpl.docx#3",
    "nested_for_tpl.docx",
    "order_tpl.docx",
    "order_tpl.docx#paid",
    "preserve_spaces_tpl.docx",
    "replace_picture_tpl.docx",
]


# -- what python-docx reads back ----------------------------------------------------------------
def document_text(blob: bytes) -> dict:
    """What python-docx reads from a .docx: the text of body paragraphs, of table cells (nested
    tables too), of every header, footer and footnotes part, and the core properties docxtpl
    renders; `w:t` is the text of every paragraph of those parts straight from the XML, which
    python-docx leaves out inside content controls (doc_properties_tpl's header); `pictures` the
    image (sha256) and size of every drawing, found through the part's relationships."""
    import hashlib

    from docx.opc.constants import RELATIONSHIP_TYPE as RT
    from docx.oxml.ns import qn
    from docx.text.paragraph import Paragraph

    document = docx.Document(io.BytesIO(blob))

    def tables(container) -> list:
        return [[[(cell.text, tables(cell)) for cell in row.cells] for row in table.rows]
                for table in container.tables]

    parts = [document.part] + [rel.target_part for rel in document.part.rels.values()
                               if not rel.is_external and rel.reltype in (RT.HEADER, RT.FOOTER, RT.FOOTNOTES)]
    text, raw, pictures = {}, {}, {}
    for part in parts:
        name = str(part.partname)
        element = part.element if hasattr(part, "element") else parse_xml(part.blob)
        if part is not document.part:
            text[name] = [Paragraph(p, part).text for p in element.iter(qn("w:p"))]
        raw[name] = ["".join(t.text or "" for t in p.iter(qn("w:t"))) for p in element.iter(qn("w:p"))]
        pictures[name] = [
            (hashlib.sha256(part.rels[blip.get(qn("r:embed"))].target_part.blob).hexdigest(),
             int(extent.get("cx")), int(extent.get("cy")))
            for drawing in element.iter(qn("w:drawing"))
            for extent, blip in zip(drawing.iter(qn("wp:extent")), drawing.iter(qn("a:blip")))]
    props = document.core_properties
    return {"body": [p.text for p in document.paragraphs], "tables": tables(document), "parts": text,
            "w:t": raw, "pictures": pictures,
            "properties": {name: getattr(props, name) for name in
                           ("author", "comments", "identifier", "language", "subject", "title")}}


def parse_xml(blob: bytes):
    from docx.oxml.parser import parse_xml

    return parse_xml(blob)


# Cases where docxtpl must render as its own test script does, without autoescape: under
# autoescape=True docxtpl escapes `&` in a string literal of the template twice (its tag cleaning
# leaves `&amp;` in the jinja source), so `default("Testé&xx;")` would print "Testé&amp;xx;".
# gongwen prints what the author typed, "Testé&xx;" (checked in test_entity_literal below).
DOCXTPL_WITHOUT_AUTOESCAPE = {"header_footer_entities_tpl.docx"}


def render_docxtpl(path: Path, context_of, pictures) -> bytes:
    template = docxtpl.DocxTemplate(str(path))
    template.render(context_of(Images("docxtpl", template, pictures)),
                    autoescape=path.name not in DOCXTPL_WITHOUT_AUTOESCAPE)
    out = io.BytesIO()
    template.save(out)
    return out.getvalue()


def render_gongwen(path: Path, context_of, pictures) -> bytes:
    return render(path, context_of(Images("gongwen", None, pictures)), strict=False)


@pytest.mark.parametrize("case", SUPPORTED)
def test_corpus_template_renders_like_docxtpl(case, pictures):
    file = case.split("#")[0]
    path = CORPUS / file
    expected = document_text(render_docxtpl(path, CONTEXTS[case], pictures))
    ours = render_gongwen(path, CONTEXTS[case], pictures)
    got = document_text(ours)
    assert got == expected


# Every corpus file gongwen does not render like docxtpl, and why (tests/README.md has the table).
UNSUPPORTED = {
    "cellbg_tpl.docx": "{% cellbg %} cell shading and {{r}} RichText",
    "custom_jinja_filters_tpl.docx": "filters from a caller's jinja Environment (gongwen's filter set is fixed)",
    "dynamic_table_tpl.docx": "{% colspan %} and the table-grid rebuild after {%tc for%}",
    "escape_tpl.docx": "{{r}} RichText, Listing, \\a and \\f in RichText values",
    "horizontal_merge_tpl.docx": "{% hm %} / {% vm %} merges",
    "less_cells_after_loop_tpl.docx": "{% hm %} and the table-grid rebuild",
    "merge_docx_master_tpl.docx": "{{p}} Subdoc from a whole .docx (docxcompose)",
    "merge_paragraph_tpl.docx": "docxtpl's {%- / -%} merging of paragraphs",
    "richtext_and_if_tpl.docx": "{{r}} RichText",
    "richtext_eastAsia_tpl.docx": "{{r}} RichText",
    "richtext_paragraph_tpl.docx": "{{p}} RichTextParagraph",
    "richtext_tpl.docx": "{{r}} RichText",
    "subdoc_tpl.docx": "{{p}} Subdoc",
    "vertical_merge_nested_tpl.docx": "{% vm %} and {% colspan %}",
    "vertical_merge_tpl.docx": "{% vm %}",
    "word2016_tpl.docx": "{{r}} RichText",
}
# docxtpl tag extensions gongwen does not know stop at compile time, naming the paragraph
REFUSED_AT_COMPILE = {
    "cellbg_tpl.docx": "{% cellbg a.bg %}{{ a.type }}",
    "custom_jinja_filters_tpl.docx": "The filter modified float value is {{ base_value_float | my_filterB(2)}}",
    "dynamic_table_tpl.docx": "{% colspan col_labels|count %}Type of thing",
    "horizontal_merge_tpl.docx": "{% hm %}Header 2",
    "less_cells_after_loop_tpl.docx": "{% hm %}Header 3",
    "vertical_merge_nested_tpl.docx": "{% colspan 4%} Header 2",
    "vertical_merge_tpl.docx": "{% vm %}{{category}}",
}
ERROR_CASES = {"template_error_tpl.docx"}  # docxtpl's own syntax-error test, see below


def test_every_corpus_file_is_classified_and_documented():
    files = {p.name for p in CORPUS.glob("*.docx")}
    supported = {case.split("#")[0] for case in SUPPORTED}
    assert not supported & set(UNSUPPORTED)
    assert supported | set(UNSUPPORTED) | ERROR_CASES == files
    readme = (Path(__file__).parent / "README.md").read_text("utf-8")
    section = readme.split("## Renderer and the docxtpl corpus", 1)[1]
    for name in files:
        assert f"`{name}`" in section, f"{name} is not in the tests README's corpus table"


@pytest.mark.parametrize("name", sorted(REFUSED_AT_COMPILE))
def test_unknown_docxtpl_extensions_fail_loudly(name):
    with pytest.raises(TemplateError) as caught:
        compile_template(CORPUS / name, strict=False)
    assert caught.value.details["template"] == name and caught.value.details["part"] == "body"
    assert caught.value.details["paragraph"] == REFUSED_AT_COMPILE[name]


def test_template_error_names_the_paragraph_like_docxtpl():
    """docxtpl's template_error test: an extra {% endif %} in the fifth paragraph."""
    import jinja2

    path = CORPUS / "template_error_tpl.docx"
    with pytest.raises(jinja2.TemplateSyntaxError) as theirs:
        docxtpl.DocxTemplate(str(path)).render({"test_variable": "x"}, autoescape=True)
    assert any("fifth paragraph" in line for line in theirs.value.docx_context)
    with pytest.raises(TemplateError) as ours:
        render(path, {"test_variable": "x"}, strict=False)
    assert ours.value.message.startswith("template_error_tpl.docx: body: syntax error: Encountered unknown tag 'endif'")
    assert ours.value.details["paragraph"] == (
        "I am the fifth paragraph.  {% if test_variable %}I am part of it, too.{% endif %} {% endif %}")


def test_undeclared_variables_like_docxtpl():
    path = CORPUS / "get_undeclared_variables.docx"
    expected = {"name", "age", "email", "is_student", "has_degree", "degree_field", "skills", "projects",
                "company_name", "page_number", "generation_date", "author"}
    assert docxtpl.DocxTemplate(str(path)).get_undeclared_template_variables() == expected
    assert compile_template(path).variables() == expected


def test_entity_literal(pictures):
    """`default("Testé&xx;")` in a footer prints what the author typed (see
    DOCXTPL_WITHOUT_AUTOESCAPE); strict rendering refuses the undefined `unknowvar`."""
    path = CORPUS / "header_footer_entities_tpl.docx"
    got = document_text(render(path, {"title": "Header and footer test"}, strict=False))
    assert got["parts"]["/word/header1.xml"] == ["Testé"]
    assert got["parts"]["/word/footer1.xml"] == ["Testé&xx;"]
    # `default` is a use, not a print of an undefined value: strict mode renders it too
    assert document_text(render(path, {"title": "t"}))["parts"]["/word/footer1.xml"] == ["Testé&xx;"]


def test_one_compiled_template_renders_many_times():
    """multi_rendering: the compiled template is reused and each render only sees its context."""
    compiled = compile_template(CORPUS / "multi_rendering_tpl.docx")
    for word in ("ONE", "TWO", "THREE"):
        body = document_text(compiled.render({"title": f"Title {word}", "body": word.lower()}))["body"]
        assert body[0] == f"Title {word}" and word.lower() in body
        assert not ({"one", "two", "three"} - {word.lower()}) & set(body)  # nothing left from before
    assert compile_template(CORPUS / "multi_rendering_tpl.docx") is compiled
