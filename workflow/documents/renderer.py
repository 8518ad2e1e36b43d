"""The compile-once .docx renderer (docxtpl's tag syntax, jinja2 sandbox, autoescape on).

A template is read once: its parts with tags are turned into jinja source (docx_xml) and
compiled, the other members are compressed once; compiled templates are cached by the file's
sha256. A render fills the tagged parts, parses each strictly, and writes a zip with fixed
timestamps and member order, so the same template and context give the same bytes."""

from __future__ import annotations

import contextvars
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from workflow.documents import docx_xml, zipraw
from workflow.errors import BadInput

_BR = '</w:t><w:br/><w:t xml:space="preserve">'
_TAB = '</w:t><w:tab/><w:t xml:space="preserve">'
_PART_LABELS = [(re.compile(r"^word/document\.xml$"), "body"),
                (re.compile(r"^word/(header\d*|footer\d*)\.xml$"), None),
                (re.compile(r"^word/(footnotes|endnotes)\.xml$"), None),
                (re.compile(r"^docProps/core\.xml$"), "core properties"),
                (re.compile(r"^docProps/custom\.xml$"), "custom properties")]
_CACHE: dict[tuple, CompiledTemplate] = {}
_CACHE_SIZE = 256
MAX_TEMPLATE_BYTES = 64 * 1024 * 1024
_current_render: contextvars.ContextVar = contextvars.ContextVar("gongwen_render")
_NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_STRICT_PARSER = etree.XMLParser(recover=False, resolve_entities=False, no_network=True, huge_tree=True)


class TemplateError(BadInput):
    """A template that cannot be compiled or rendered: names template, part and paragraph."""

    reason = "bad_template"

    def __init__(self, template: str, part: str, problem: str, paragraph: str = ""):
        where = f"{template}: {part}"
        text = f"{where}: {problem}" + (f" (paragraph: «{paragraph}»)" if paragraph else "")
        super().__init__(text, template=template, part=part, paragraph=paragraph, problem=problem)


def part_label(name: str) -> str | None:
    for pattern, label in _PART_LABELS:
        match = pattern.match(name)
        if match:
            return label or match.group(1)
    return None


# -- jinja environments -----------------------------------------------------------------------
def _environments(strict: bool) -> list[Any]:
    from jinja2 import Undefined
    from jinja2.exceptions import SecurityError
    from markupsafe import Markup, escape

    from workflow.definition.sandbox import BoundedSandbox
    from workflow.documents.cnformat import FILTERS, title_line_list

    class SandboxUndefined(Undefined):
        """An attribute the sandbox refused (`''.__class__`) is an error when printed, strict or
        not: jinja folds such a constant to '' at compile time unless str() raises."""

        __slots__ = ()

        def __str__(self) -> str:
            if issubclass(self._undefined_exception, SecurityError):
                self._fail_with_undefined_error()
            return super().__str__()

    def undefined_check(value: Any) -> Any:
        if isinstance(value, Undefined):
            # an attribute the sandbox refused (`''.__class__`) is an error even when not strict
            if strict or issubclass(getattr(value, "_undefined_exception", Exception), SecurityError):
                value._fail_with_undefined_error()
            return ""
        return value

    def finalize_word(value: Any) -> Any:
        value = finalize_plain(value)
        if hasattr(value, "__html__"):
            return value
        text = str(value)
        if "\n" in text or "\t" in text:
            return Markup(str(escape(text)).replace("\r\n", "\n").replace("\n", _BR).replace("\t", _TAB))
        return value

    def finalize_plain(value: Any) -> Any:
        value = undefined_check(value)
        if isinstance(value, str) and _NOT_IN_XML.search(value):
            # what no XML part can hold (stored before values were checked): U+FFFD, not a broken file
            cleaned = _NOT_IN_XML.sub("\ufffd", value)
            return Markup(cleaned) if hasattr(value, "__html__") else cleaned
        return value

    def word_title_lines(value: Any) -> Markup:
        """title_lines in a Word part: the lines joined by line breaks (w:br) of the title's run."""
        return Markup(_BR).join(title_line_list(value))

    return [BoundedSandbox(autoescape=True, finalize=finalize, keep_trailing_newline=True,
                           undefined=SandboxUndefined, filters=filters)
            for finalize, filters in ((finalize_word, {**FILTERS, "title_lines": word_title_lines}),
                                      (finalize_plain, FILTERS))]


@dataclass
class _Part:
    name: str
    label: str
    source: str
    template: Any  # a compiled jinja2 Template
    word: bool


@dataclass
class CompiledTemplate:
    name: str
    sha256: str
    order: list  # member names, in the template's order
    fixed: dict  # name -> zipraw.Member (compressed once)
    parts: dict  # name -> _Part
    raw: dict = field(default_factory=dict)  # name -> bytes of parts an image may change

    def variables(self) -> set:
        """Names the template reads from its context (for `templates check`)."""
        from jinja2 import meta

        env = _environments(False)[0]
        names = set()
        for part in self.parts.values():
            names |= meta.find_undeclared_variables(env.parse(part.source))
        return names - set(env.globals)

    def render(self, context: dict) -> bytes:
        return self.assemble(self.render_parts(context))

    def render_parts(self, context: dict) -> dict[str, bytes]:
        """The parts the context changes (the templated ones, and any an image changes), by name."""
        from workflow.definition.sandbox import bounded

        state = _RenderState(self)
        token = _current_render.set(state)
        try:
            with bounded():  # one budget of work and time for all the parts of the document
                rendered = {name: self._render_part(part, context, state) for name, part in self.parts.items()}
        finally:
            _current_render.reset(token)
        rendered.update(state.changed_members())
        return rendered

    def assemble(self, rendered: dict[str, bytes]) -> bytes:
        """The .docx of the rendered parts and the template's fixed ones, in the template's order."""
        members = []
        for name in self.order + sorted(n for n in rendered if n not in self.order):
            members.append(zipraw.deflate(name, rendered[name]) if name in rendered else self.fixed[name])
        return zipraw.write(members)

    def _render_part(self, part: _Part, context: dict, state: _RenderState) -> bytes:
        from jinja2 import TemplateError as JinjaError

        from workflow.definition.sandbox import LimitExceeded, render

        state.part = part.name
        try:
            text = render(part.template, context)
        except (JinjaError, TypeError, ValueError, AttributeError, KeyError, IndexError,
                ZeroDivisionError, ArithmeticError, BadInput, RecursionError, MemoryError) as exc:
            if isinstance(exc, TemplateError):
                raise
            lineno = _template_lineno(exc, part.name)
            raise TemplateError(self.name, part.label, _problem(exc, LimitExceeded),
                                docx_xml.paragraph_text(part.source, lineno)) from None
        if part.word:
            text = docx_xml.strip_line_marks(text)
        data = text.encode("utf-8")
        try:
            etree.fromstring(data, _STRICT_PARSER)
        except etree.XMLSyntaxError as exc:
            raise TemplateError(self.name, part.label, f"the rendered XML is not well-formed: {exc}") from None
        return data


def _problem(exc: BaseException, limit: type) -> str:
    if isinstance(exc, limit):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "out of memory: the template builds too large a value"
    if isinstance(exc, RecursionError):
        return "recursion too deep (a macro or a loop that calls itself?)"
    return f"{type(exc).__name__}: {exc}"


def _template_lineno(exc: BaseException, filename: str) -> int:
    lineno, tb = getattr(exc, "lineno", None) or 0, exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            lineno = tb.tb_lineno
        tb = tb.tb_next
    return lineno


def compile_template(source: str | Path | bytes, name: str | None = None, strict: bool = True) -> CompiledTemplate:
    """Compile a .docx template (a path or its bytes), cached by sha256."""
    if not isinstance(source, bytes):
        from workflow.inputs import read_regular_file

        source = Path(source)  # a regular file of bounded size: never a FIFO or a device
        blob = read_regular_file(source, MAX_TEMPLATE_BYTES)
    else:
        blob = source
    name = name or (Path(source).name if not isinstance(source, bytes) else "template.docx")
    digest = hashlib.sha256(blob).hexdigest()
    cached = _CACHE.get((digest, strict, name))
    if cached is not None:
        return cached
    try:
        members = zipraw.read_members(blob)
    except Exception as exc:
        raise TemplateError(name, "file", f"not a .docx (zip) file: {exc}") from None
    word_env, plain_env = _environments(strict)
    order, fixed, parts, raw = [], {}, {}, {}
    for member, content in members:
        order.append(member)
        label = part_label(member)
        if label and docx_xml.has_tags(content):
            parts[member] = _compile_part(name, member, label, content, word_env, plain_env)
        else:
            fixed[member] = zipraw.deflate(member, content)
        if member == "[Content_Types].xml" or member.endswith(".rels"):
            raw[member] = content
    compiled = CompiledTemplate(name=name, sha256=digest, order=order, fixed=fixed, parts=parts, raw=raw)
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[(digest, strict, name)] = compiled
    return compiled


def _compile_part(name: str, member: str, label: str, content: bytes, word_env: Any, plain_env: Any) -> _Part:
    from jinja2 import TemplateSyntaxError

    word = member.startswith("word/")
    try:
        source = docx_xml.to_jinja_source(content) if word else docx_xml.plain_part_source(content)
    except etree.XMLSyntaxError as exc:
        raise TemplateError(name, label, f"the part is not well-formed XML: {exc}") from None
    env = word_env if word else plain_env
    try:
        code = env.compile(source, name=member, filename=member)
    except TemplateSyntaxError as exc:
        raise TemplateError(name, label, f"syntax error: {exc.message}",
                            docx_xml.paragraph_text(source, exc.lineno)) from None
    except (RecursionError, MemoryError):
        raise TemplateError(name, label, "the template is nested too deeply to compile") from None
    template = env.template_class.from_code(env, code, env.make_globals(None), None)
    return _Part(name=member, label=label, source=source, template=template, word=word)


def render(template: str | Path | bytes, context: dict, name: str | None = None, strict: bool = True) -> bytes:
    return compile_template(template, name, strict).render(context)


# -- inline images ----------------------------------------------------------------------------
class InlineImage:
    """A picture placed where the tag stands (e.g. a photo of a rectified hazard):
    `{{ photo }}` with `InlineImage(bytes_or_path, width_mm=60)`."""

    def __init__(self, image: bytes | str | Path, width_mm: float | None = None, height_mm: float | None = None):
        self.blob = image if isinstance(image, bytes) else Path(image).read_bytes()
        self.width_mm, self.height_mm = width_mm, height_mm

    def __html__(self) -> str:
        state = _current_render.get(None)
        if state is None:
            raise BadInput("an InlineImage can only be rendered inside a .docx template")
        return state.add_image(self)


_DRAWING = (
    '</w:t></w:r><w:r><w:drawing><wp:inline distT="0" distB="0" distL="0" distR="0" '
    'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing">'
    '<wp:extent cx="{cx}" cy="{cy}"/><wp:docPr id="{id}" name="Picture {id}"/>'
    '<wp:cNvGraphicFramePr><a:graphicFrameLocks xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
    'noChangeAspect="1"/></wp:cNvGraphicFramePr>'
    '<a:graphic xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main">'
    '<a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/picture">'
    '<pic:pic xmlns:pic="http://schemas.openxmlformats.org/drawingml/2006/picture">'
    '<pic:nvPicPr><pic:cNvPr id="{id}" name="{media}"/><pic:cNvPicPr/></pic:nvPicPr>'
    '<pic:blipFill><a:blip r:embed="{rid}" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"/>'
    '<a:stretch><a:fillRect/></a:stretch></pic:blipFill>'
    '<pic:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="{cx}" cy="{cy}"/></a:xfrm>'
    '<a:prstGeom prst="rect"><a:avLst/></a:prstGeom></pic:spPr></pic:pic></a:graphicData></a:graphic>'
    '</wp:inline></w:drawing></w:r><w:r><w:t xml:space="preserve">')
_IMAGE_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/image"
_EMU_PER_MM = 36000


class _RenderState:
    """What one render adds besides the filled parts: images, their relationships, types."""

    def __init__(self, compiled: CompiledTemplate):
        self.compiled = compiled
        self.part = ""
        self.media: dict[str, bytes] = {}
        self.relations: dict[str, list] = {}  # part -> [(rid, target)]
        self.next_id = 7000

    def add_image(self, image: InlineImage) -> str:
        from docx.image.image import Image

        info = Image.from_blob(image.blob)
        media = f"gw_{hashlib.sha256(image.blob).hexdigest()[:16]}.{info.ext}"
        self.media[f"word/media/{media}"] = image.blob
        width = info.px_width / (info.horz_dpi or 96) * 25.4
        height = info.px_height / (info.vert_dpi or 96) * 25.4
        if image.width_mm and image.height_mm:
            width, height = image.width_mm, image.height_mm
        elif image.width_mm:
            width, height = image.width_mm, height * image.width_mm / width
        elif image.height_mm:
            width, height = width * image.height_mm / height, image.height_mm
        relations = self.relations.setdefault(self.part, [])
        rid = f"rIdGw{len(relations) + 1}"
        relations.append((rid, f"media/{media}"))
        self.next_id += 1
        return _DRAWING.format(cx=round(width * _EMU_PER_MM), cy=round(height * _EMU_PER_MM), id=self.next_id,
                               media=media, rid=rid)

    def changed_members(self) -> dict:
        if not self.media:
            return {}
        changed = dict(self.media)
        for part, relations in self.relations.items():
            folder, _, file = part.rpartition("/")
            rels_name = f"{folder}/_rels/{file}.rels"
            base = self.compiled.raw.get(rels_name) or (
                b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"/>')
            root = etree.fromstring(base)
            for rid, target in relations:
                etree.SubElement(root, "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship",
                                 Id=rid, Type=_IMAGE_REL, Target=target)
            changed[rels_name] = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
        types = etree.fromstring(self.compiled.raw["[Content_Types].xml"])
        namespace = "http://schemas.openxmlformats.org/package/2006/content-types"
        known = {d.get("Extension", "").lower() for d in types.iter(f"{{{namespace}}}Default")}
        for ext in sorted({name.rsplit(".", 1)[1] for name in self.media}):
            if ext not in known:
                etree.SubElement(types, f"{{{namespace}}}Default", Extension=ext,
                                 ContentType="image/jpeg" if ext in ("jpg", "jpeg") else f"image/{ext}")
        changed["[Content_Types].xml"] = etree.tostring(types, xml_declaration=True, encoding="UTF-8",
                                                        standalone=True)
        return changed
