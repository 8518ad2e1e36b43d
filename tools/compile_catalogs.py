"""Compile the gettext catalogs: every workflow/i18n/<lang>/LC_MESSAGES/*.po into the .mo beside it.

Pure Python (the algorithm of CPython's Tools/i18n/msgfmt.py: the messages sorted by msgid, no
hash table), so the build needs no GNU gettext; the output is deterministic, and
tests/test_i18n_catalog.py checks that the committed .mo is what this makes of the .po.

    python tools/compile_catalogs.py          # compile
    python tools/compile_catalogs.py --check  # exit 1 if a .mo is out of date
    python tools/compile_catalogs.py --missing  # the messages the .po lacks (see extract)
"""

from __future__ import annotations

import ast
import struct
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CATALOGS = REPO / "workflow" / "i18n"
TRANSLATED_CALLS = {"_", "say", "Msg"}  # imported from workflow.i18n: a literal first argument is a msgid


def parse_po(text: str) -> dict[str, str]:
    """msgid -> msgstr of a .po file (the header under ""); fuzzy and untranslated entries are left
    out (gettext then says the English). Plural forms and contexts are not used by gongwen."""
    messages: dict[str, str] = {}
    section, msgid, msgstr, fuzzy = "", [], [], False

    def flush() -> None:
        nonlocal msgid, msgstr, fuzzy
        key, value = "".join(msgid), "".join(msgstr)
        if section == "msgstr" and value and not fuzzy:
            messages[key] = value
        msgid, msgstr, fuzzy = [], [], False

    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line.startswith("#"):
            if section == "msgstr":
                flush()
                section = ""
            if line.startswith("#,") and "fuzzy" in line:
                fuzzy = True
            continue
        if not line:
            continue
        if line.startswith("msgid "):
            if section == "msgstr":
                flush()
            section, line = "msgid", line[6:]
        elif line.startswith("msgstr "):
            section, line = "msgstr", line[7:]
        elif line.startswith(("msgctxt", "msgid_plural", "msgstr[")):
            raise ValueError(f"line {number}: {line.split()[0]} is not supported")
        if not (line.startswith('"') and line.endswith('"')):
            raise ValueError(f"line {number}: expected a quoted string, got {raw!r}")
        value = ast.literal_eval(line)
        (msgid if section == "msgid" else msgstr).append(value)
    if section == "msgstr":
        flush()
    return messages


def compile_po(text: str) -> bytes:
    """The .mo bytes of a .po text."""
    messages = parse_po(text)
    keys = sorted(messages)
    ids = strs = b""
    offsets = []
    for key in keys:
        encoded_id, encoded_str = key.encode("utf-8"), messages[key].encode("utf-8")
        offsets.append((len(ids), len(encoded_id), len(strs), len(encoded_str)))
        ids += encoded_id + b"\0"
        strs += encoded_str + b"\0"
    start_keys = 7 * 4
    start_values = start_keys + len(keys) * 8
    start_ids = start_values + len(keys) * 8
    start_strs = start_ids + len(ids)
    key_table, value_table = [], []
    for id_at, id_len, str_at, str_len in offsets:
        key_table += [id_len, id_at + start_ids]
        value_table += [str_len, str_at + start_strs]
    header = struct.pack("Iiiiiii", 0x950412DE, 0, len(keys), start_keys, start_values, 0, 0)
    return header + struct.pack(f"{len(key_table)}i", *key_table) \
        + struct.pack(f"{len(value_table)}i", *value_table) + ids + strs


def source_messages() -> dict[str, str]:
    """msgid -> where it is, for every literal first argument of _(), say() and Msg() (as imported
    from workflow.i18n) in workflow/ and cli.py; an f-string there is reported as a problem under
    a key starting with "!"."""
    found: dict[str, str] = {}
    for path in sorted([*(REPO / "workflow").rglob("*.py"), REPO / "cli.py"]):
        if CATALOGS in path.parents:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        imported = {alias.asname or alias.name for node in ast.walk(tree)
                    if isinstance(node, ast.ImportFrom) and node.module == "workflow.i18n"
                    for alias in node.names if alias.name in TRANSLATED_CALLS}
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and node.args and isinstance(node.func, ast.Name)
                    and node.func.id in imported):
                continue
            where = f"{path.relative_to(REPO)}:{node.lineno}"
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.setdefault(first.value, where)
            elif isinstance(first, ast.JoinedStr):  # an f-string: no catalog can hold it
                found[f"!{where}: an f-string cannot be translated"] = where
    return found


def help_messages() -> dict[str, str]:
    """msgid -> command, for every help text of the command line (commands' docstrings or
    help=, options' help=), as click keeps them."""
    sys.path.insert(0, str(REPO))
    import click

    from cli import cli

    found: dict[str, str] = {}

    def walk(command: click.Command, path: str) -> None:
        for obj in [command, *command.params]:
            for attr in ("help", "short_help"):
                text = obj.__dict__.get(f"_english_{attr}", getattr(obj, attr, None))
                if text:
                    found.setdefault(text, path)
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                walk(sub, f"{path} {name}")

    walk(cli, "gongwen")
    return found


def missing(po: Path) -> dict[str, str]:
    """The messages of the source and of the help that `po` does not translate."""
    have = parse_po(po.read_text(encoding="utf-8"))
    wanted = {**source_messages(), **help_messages()}
    return {m: where for m, where in wanted.items() if m not in have}


def catalogs() -> list[Path]:
    return sorted(CATALOGS.glob("*/LC_MESSAGES/*.po"))


def main(argv: list[str]) -> int:
    check = "--check" in argv
    if "--missing" in argv:
        lacking = {m: w for po in catalogs() for m, w in missing(po).items()}
        for message, where in lacking.items():
            print(f"#: {where}\nmsgid {_quoted(message)}\nmsgstr \"\"\n")
        return 1 if lacking else 0
    stale = []
    for po in catalogs():
        mo = po.with_suffix(".mo")
        data = compile_po(po.read_text(encoding="utf-8"))
        if mo.is_file() and mo.read_bytes() == data:
            continue
        if check:
            stale.append(mo)
        else:
            mo.write_bytes(data)
            print(f"wrote {mo} ({len(parse_po(po.read_text(encoding='utf-8'))) - 1} messages)")
    for mo in stale:
        print(f"{mo} is out of date: run python tools/compile_catalogs.py", file=sys.stderr)
    return 1 if stale else 0


def _quoted(text: str) -> str:
    """A msgid as a .po string (one line, escaped)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{escaped}"'


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
