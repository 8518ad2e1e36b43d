"""Word documents: the compile-once .docx renderer (docxtpl syntax, jinja2 sandbox), Chinese
filters, the documents a transition renders and stores, the approval-form token, reading .docx text,
and LibreOffice conversion. Imports definition/ and store/."""

from workflow._exports import lazy_exports

__all__ = ["compile_template", "render", "TemplateError", "Rendered", "convert_to_pdf", "template_report"]
__getattr__, __dir__ = lazy_exports(__name__, {
    "compile_template": "renderer",
    "render": "renderer",
    "TemplateError": "renderer",
    "Rendered": "produce",
    "convert_to_pdf": "office",
    "template_report": "check",
})
