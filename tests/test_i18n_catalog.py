"""The gettext catalog: the committed .mo is what tools/compile_catalogs.py makes of the .po,
every message of the sources (`_()`, `say()`, `Msg()` literals, an AST scan of workflow/ and
cli.py) and every help text of the command line has a translation, and no translation names a
placeholder its English message lacks (it would fail to fill)."""

from __future__ import annotations

import gettext
import importlib.util
import io
import string
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PO = REPO / "workflow" / "i18n" / "zh_CN" / "LC_MESSAGES" / "gongwen.po"


@pytest.fixture(scope="module")
def tool():
    spec = importlib.util.spec_from_file_location("compile_catalogs", REPO / "tools" / "compile_catalogs.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["compile_catalogs"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def catalog(tool):
    return tool.parse_po(PO.read_text(encoding="utf-8"))


def test_the_mo_is_compiled_from_the_po(tool):
    assert PO.with_suffix(".mo").read_bytes() == tool.compile_po(PO.read_text(encoding="utf-8")), \
        "gongwen.mo is out of date: run python tools/compile_catalogs.py"
    assert tool.main(["--check"]) == 0


def test_every_message_of_the_sources_is_in_the_catalog(tool, catalog):
    found = tool.source_messages()
    assert not [key for key in found if key.startswith("!")], "an f-string in _()/say()/Msg() cannot be translated"
    assert len(found) > 100  # the scan sees the messages (not an empty pass)
    missing = {message: where for message, where in found.items() if message not in catalog}
    assert not missing, "run python tools/compile_catalogs.py --missing, translate, compile: " + repr(missing)


def test_every_help_text_is_in_the_catalog(tool, catalog):
    found = tool.help_messages()
    assert "Show an item: fields, state, what you may do, history." in found
    missing = {message: where for message, where in found.items() if message not in catalog}
    assert not missing, repr(missing)


def test_translations_use_only_their_messages_placeholders(catalog):
    def fields(text: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}

    wrong = {m: t for m, t in catalog.items() if m and not fields(t) <= fields(m)}
    assert not wrong


def test_the_compiler_reads_escapes_and_skips_fuzzy_and_untranslated(tool):
    text = ('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
            'msgid "a\\n"\n"b \\"q\\""\nmsgstr "甲\\n乙"\n\n'
            '#, fuzzy\nmsgid "c"\nmsgstr "丙"\n\n'
            'msgid "d"\nmsgstr ""\n')
    messages = tool.parse_po(text)
    assert messages["a\nb \"q\""] == "甲\n乙" and "c" not in messages and "d" not in messages
    mo = tool.compile_po(text)
    loaded = gettext.GNUTranslations(io.BytesIO(mo))
    assert loaded.gettext("a\nb \"q\"") == "甲\n乙" and loaded.gettext("c") == "c"


def test_the_locale_is_read_at_each_call(monkeypatch):
    from workflow.i18n import Msg, Named, _, chinese, localized

    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert chinese() and _("error: {message}") == "错误：{message}"
    message = Msg("{transition} is not an exit of {state}", transition=Named.of("approve", "签发"),
                  state=Named.of("draft", "起草"))
    assert str(message) == "approve (签发) is not an exit of draft (起草)"
    said = localized(message, message.template, message.params)
    assert said == "“签发（approve）”不是“起草（draft）”状态下可办理的操作"
    monkeypatch.setenv("LANGUAGE", "en")  # LANGUAGE comes first, as for gettext
    assert not chinese() and localized(message, message.template, message.params) == str(message)


def test_the_catalogs_are_shipped():
    assert "workflow.i18n = */LC_MESSAGES/*.po, */LC_MESSAGES/*.mo" in (REPO / "setup.cfg").read_text(encoding="utf-8")
