"""The command line's language: Chinese under a zh_CN locale, English otherwise.

`_(message)` looks the English message up in the gettext catalog of the locale the environment
names (LANGUAGE, LC_ALL, LC_MESSAGES, LANG, in gettext's order), read at each call, so that a test
that changes the environment sees the change. The catalogs are zh_CN/LC_MESSAGES/gongwen.po (the
source) and gongwen.mo (compiled by tools/compile_catalogs.py; both are shipped).

`Msg` is a message whose words the command line can translate on the way out: its str is the
English text, its template and parameters are kept; a `Named` parameter (an id with its Chinese
title) reads `approve (签发)` in English and `签发（approve）` in Chinese."""

from __future__ import annotations

import gettext
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

DOMAIN = "gongwen"
LOCALEDIR = Path(__file__).resolve().parent
ENVIRONMENT = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")  # gettext's order: the first set one wins

_loaded: dict[tuple[str | None, ...], gettext.NullTranslations] = {}


def translation() -> gettext.NullTranslations:
    """The catalog of the locale the environment names now (none: English)."""
    setting = tuple(os.environ.get(name) for name in ENVIRONMENT)
    found = _loaded.get(setting)
    if found is None:
        found = _loaded[setting] = gettext.translation(DOMAIN, str(LOCALEDIR), fallback=True)
    return found


def chinese() -> bool:
    """Whether messages are said in Chinese (a zh catalog is in force)."""
    return type(translation()) is not gettext.NullTranslations


def _(message: str) -> str:
    """The message in the user's language."""
    return translation().gettext(message)


def install() -> None:
    """Make gettext's default domain ours, so that click's own words (Usage:, Options:, its usage
    errors) are looked up in our catalog too (click calls gettext.gettext)."""
    gettext.bindtextdomain(DOMAIN, str(LOCALEDIR))
    gettext.textdomain(DOMAIN)


class Named(str):
    """An id with its title: its str is the English form `approve (签发)`; `zh` the Chinese
    one `签发（approve）`. Without a title (or the title is the id), both are the id."""

    zh: str

    def __new__(cls, english: str, zh: str | None = None) -> Named:
        self = super().__new__(cls, english)
        self.zh = english if zh is None else zh
        return self

    @classmethod
    def of(cls, ident: str, title: str | None) -> Named:
        if not title or title == ident:
            return cls(ident, ident)
        return cls(f"{ident} ({title})", f"{title}（{ident}）")

    @classmethod
    def listing(cls, names: Iterable[Named], empty: str = "none") -> Named:
        items = list(names)
        if not items:
            return cls(empty, "无")
        return cls(", ".join(items), "、".join(getattr(n, "zh", str(n)) for n in items))


class Msg(str):
    """A message kept with its template and parameters: str(msg) is the English text."""

    template: str
    params: dict[str, Any]

    def __new__(cls, template: str, **params: Any) -> Msg:
        self = super().__new__(cls, template.format(**params))
        self.template = template
        self.params = params
        return self


def say(template: str, **params: Any) -> str:
    """A template in the user's language, filled in (Named parameters in their Chinese form there,
    Msg parameters said in Chinese too)."""
    if not chinese():
        return template.format(**params)
    local = {k: say(v.template, **v.params) if isinstance(v, Msg) else v.zh if isinstance(v, Named) else v
             for k, v in params.items()}
    try:
        return _(template).format(**local)
    except (KeyError, IndexError, ValueError):  # a translation that does not fit: the English words
        return template.format(**params)


def localized(message: str, template: str | None, params: dict[str, Any] | None) -> str:
    """An error's message in the user's language: its template translated, else the message."""
    if template is None or not chinese():
        return message
    return say(template, **(params or {}))
