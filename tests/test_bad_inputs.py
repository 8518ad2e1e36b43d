"""Issue 13, point 7: the catalogue of bad inputs. One table of cases (CASES, built by `case()`
below) across definitions, templates, field values, files, ingest, command-line arguments and
environment faults, grouped as the issue groups them (hangs, exit 70 where 4 was due, failed yet
changed state, lost work, misleading messages) and then by kind. Each case runs the real command
line twice, in human mode and with --json, and asserts:

- the exit code (1 refused, 2 usage, 3 stale, 4 bad input; never 70, never a hang);
- one line of output and no traceback: `error: MESSAGE` on stderr (usage errors, exit 2, too:
  `error: MESSAGE (see `gongwen CMD --help`)`); `ingest`: its one `refused  FILE:
  REASON: MESSAGE` row on stdout; `workflows validate`: one `file:line: problem` line per problem;
  `templates check`: its report on stdout, then the one error line. The line carries the same
  message as the --json document, whose reason is the case's;
- nothing changed: every row of every table, every file of the workspace (the SQLite file's bytes
  too), the account's key folder, the prepared forms and the case's own input files (so a refused
  export leaves no partial file).

Each case runs on SQLite and on PostgreSQL (a database of the session's pgserver) when it opens the
workspace's database; faults of the SQLite file and its folder are SQLite only, PostgreSQL logins
PostgreSQL only, and cases that never reach a database (usage errors, `workflows validate FILE`,
keys, `demo`, `init`) run once (id `any-...`). Cases that would hang or loop in C code (FIFOs,
/dev/zero, alias bombs, huge templates) or need a limit on the process (RLIMIT_FSIZE) run as
subprocesses with a timeout; the others in-process under SIGALRM. A case that damages anything
gets its own copy of the workspace folder and key folder (on PostgreSQL the copy shares the
database, which must stay unchanged all the same); faults that would stop the snapshot itself
(read-only files and folders, a held lock) are applied after it and undone before the second.
Read-only is chmod as a user, chattr +i as root (skipped, with the reason printed, where refused).

A case that exposes a bug is marked xfail(strict=True, reason=what is wrong): `key new --ssh` of a
file that is no key (exit 1, and a .ref left behind), a key reference to a FIFO (hangs), unknown
keys in states, worklists and numbers (accepted), `init --db sqlite:///FILE` on a gongwen database
(leaves the folder), exports over the file size limit or into a read-only folder (reason
bad_input, and a truncated file left), control characters in `users add --name/--title` (stored).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import resource
import shutil
import sqlite3
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import helpers
import pytest
import yaml
from click.testing import CliRunner
from helpers import NOW, REPO, USERS, add_users, clean_school_values, gongwen_command, plan_values, use_classic
from test_ingest import DATE, rewrite, set_cell, signed, to_approve, with_token, without_code_line, without_properties
from test_input_bounds import LAUGHS, definition, template_with

from workflow.documents import formtoken
from workflow.engine.engine import Engine
from workflow.forms import fill as formfill
from workflow.forms import read as reader
from workflow.store.workspace import init

IN_PROCESS_SECONDS = 30  # an in-process case still running after this fails (SIGALRM)
SUBPROCESS_SECONDS = 30  # the same for the subprocess cases
SQLITE_TRANSIENT = {"gongwen.db-wal", "gongwen.db-shm"}
EDIT_TEMPLATE = "修改记录.docx"  # what plan's `edit` renders
DEAD_PG = "postgresql://gongwen:secret@127.0.0.1:1/gongwen"  # nothing listens on port 1


# -- the case table ------------------------------------------------------------------------------
@dataclass
class Case:
    name: str
    category: str
    argv: list[str]  # after `--home ROOT`; {tokens} are replaced (see Ctx.vars)
    code: int
    reason: str | tuple  # the --json reason (a tuple: any of them)
    fragment: str = ""  # a part of the message
    prepare: Callable | None = None  # prepare(ctx): damage the case's copy, write input files
    fault: Callable | None = None  # fault(ctx): applied after the "before" snapshot, undone before "after"
    dbs: str = "both"  # both | sqlite (SQLite file faults) | postgresql (its logins) | once (opens no database)
    proc: bool = False  # run as a subprocess (hang-prone, or a fault of the process)
    own: bool = False  # a copy of the workspace folder and key folder of its own
    home: bool = True  # give --home ROOT
    env: dict = field(default_factory=dict)
    rlimit_fsize: int | None = None  # bytes: RLIMIT_FSIZE in the subprocess
    timeout: float = 0  # seconds, for a subprocess case known to hang (default SUBPROCESS_SECONDS)
    readable: bool = True  # the database can be read before and after (else: its file's bytes only)
    ingest: bool = False  # output is ingest's result rows
    report: bool = False  # a report on stdout (templates check) above the one error line
    xfail: str = ""  # a known bug: what is wrong
    xfail_dbs: tuple = ("sqlite", "postgresql")  # where it shows


CASES: list[Case] = []


def case(*args, **kwargs) -> None:
    CASES.append(Case(*args, **kwargs))


# -- preparing a case --------------------------------------------------------------------------
@dataclass
class Ctx:
    db: str
    root: Path  # the workspace (the shared one, or the case's copy)
    account: Path  # the key folder (GONGWEN_CONFIG_HOME)
    tmp: Path  # the case's input files
    forms: Path  # the base's prepared forms and files
    keys: dict
    undo: list = field(default_factory=list)

    @property
    def vars(self) -> dict[str, str]:
        return {"root": str(self.root), "tmp": str(self.tmp), "forms": str(self.forms),
                "account": str(self.account), **self.keys,
                "db_url": self.keys.get("db_url") or f"sqlite:///{self.root / 'gongwen.db'}"}


def put(name: str, text: str | bytes) -> Callable:
    """Write a file (text or bytes) into the case's input folder."""
    def prepare(ctx: Ctx) -> None:
        path = ctx.tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return prepare


def put_template(source: str, name: str = EDIT_TEMPLATE) -> Callable:
    """A template of the case's workspace copy replaced by one holding `source`."""
    def prepare(ctx: Ctx) -> None:
        (ctx.root / "templates_docx" / "plan" / name).write_bytes(template_with(source))
    return prepare


def mini(name: str = "mini", extra: str = "", replace: tuple[str, str] = ("", ""), id_: str = "",
         where: str = "tmp") -> Callable:
    """A small definition (test_input_bounds.MINI) written as definitions/NAME.yaml in the case's
    input folder (where="tmp") or in its workspace copy (where="root")."""
    def prepare(ctx: Ctx) -> None:
        definition((ctx.tmp if where == "tmp" else ctx.root) / "definitions", name, extra, replace, id_)
    return prepare


def fifo(name: str) -> Callable:
    def prepare(ctx: Ctx) -> None:
        os.mkfifo(ctx.tmp / name)
    return prepare


def symlink(name: str, target: str) -> Callable:
    def prepare(ctx: Ctx) -> None:
        (ctx.tmp / name).symlink_to(target)
    return prepare


def config(**values) -> Callable:
    """Settings written into the case's copy of gongwen.yaml."""
    def prepare(ctx: Ctx) -> None:
        path = ctx.root / "gongwen.yaml"
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        data.update(values)
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return prepare


def config_text(text: str | bytes) -> Callable:
    def prepare(ctx: Ctx) -> None:
        (ctx.root / "gongwen.yaml").write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return prepare


def read_only(relative: str, under: str = "root") -> Callable:
    """Make a path of the case's copy (or, under="tmp", of its input files) read-only: chmod as
    a user; as root (whom modes do not stop) chattr +i, or the case is skipped with the reason
    printed."""
    def prepare(ctx: Ctx) -> None:
        path = getattr(ctx, under) / relative.format(**ctx.keys)
        ctx.undo.append(helpers.make_read_only(path))
    return prepare


def damage_db(how: str) -> Callable:
    """The case's copy of gongwen.db damaged (the ways of test_environment_faults)."""
    def prepare(ctx: Ctx) -> None:
        path = ctx.root / "gongwen.db"
        if how == "garbage":
            path.write_bytes(hashlib.sha512(b"gongwen").digest() * (path.stat().st_size // 64))
        elif how == "truncated":
            os.truncate(path, path.stat().st_size // 2)
        elif how == "header_only":
            os.truncate(path, 100)
        elif how == "empty":
            os.truncate(path, 0)
        elif how == "corrupt_page":  # the schema page's b-tree header and cells overwritten
            with path.open("r+b") as file:
                file.seek(100)
                file.write(bytes(range(256)) * 15)
        elif how == "foreign":
            path.unlink()
            connection = sqlite3.connect(path)
            connection.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
            connection.commit()
            connection.close()
        elif how == "missing":
            path.unlink()
        elif how.startswith("revision="):
            connection = sqlite3.connect(path)
            with connection:
                connection.execute("UPDATE alembic_version SET version_num = ?", (how.split("=", 1)[1],))
            connection.close()
        elif how == "no_form_secret":
            connection = sqlite3.connect(path)
            with connection:
                connection.execute("DELETE FROM settings WHERE name = 'form_secret'")
            connection.close()
        else:
            raise AssertionError(how)
    return prepare


HOLD_LOCK = helpers.HOLD_LOCK


def lock_db(ctx: Ctx) -> None:
    """Another program holds the write lock of the case's copy until the case ends."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(ctx.root / "gongwen.db")],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    ctx.undo.append(lambda: holder.communicate("", timeout=30))


def documents_a_file(ctx: Ctx) -> None:
    shutil.rmtree(ctx.root / "documents")
    (ctx.root / "documents").write_text("not a folder\n", encoding="utf-8")


def sparse(name: str, size: int) -> Callable:
    def prepare(ctx: Ctx) -> None:
        with (ctx.tmp / name).open("wb") as out:
            out.truncate(size)
    return prepare


def both(*steps: Callable) -> Callable:
    def prepare(ctx: Ctx) -> None:
        for step in steps:
            step(ctx)
    return prepare


# ================================================================================================
# hangs: each ran forever (or for minutes) before issue 13; now refused at once. Subprocesses.
case("new_from_yaml_alias_bomb", "hangs", ["--as", "zhangwei", "new", "plan", "--from", "{tmp}/laughs.yaml"], 4,
     "bad_input", "aliases expand to more than", put("laughs.yaml", LAUGHS + "title: *i\nyear: 2025\n"), proc=True)
BOMB = "params:\n" + "".join(f"  {line}\n" for line in LAUGHS.splitlines())
for _args in (["workflows", "list"], ["workflows", "validate"], ["--as", "zhangwei", "new", "bomb"]):
    case(f"definition_params_alias_bomb_{_args[-1]}", "hangs", _args, 4, "bad_definition",
         "aliases expand to more than 100,000 nodes and characters", mini("bomb", BOMB, where="root"),
         proc=True, own=True)
case("template_nested_loops", "hangs", ["--as", "zhangwei", "do", "{draft}", "edit"], 4, "bad_template",
     "the template does too much work",
     put_template("{% for i in range(100000) %}{% for j in range(100000) %}…{% endfor %}{% endfor %}"),
     proc=True, own=True)
case("template_power_tower", "hangs", ["--as", "zhangwei", "do", "{draft}", "edit"], 4, "bad_template",
     "a number of more than 8,192 bits", put_template("{{ 9**(9**9) }}"), proc=True, own=True)
case("ingest_fifo", "hangs", ["--as", "chenjing", "ingest", "{tmp}/form.docx"], 4, "unreadable", "FIFO",
     fifo("form.docx"), proc=True, ingest=True)
case("new_from_fifo", "hangs", ["--as", "zhangwei", "new", "plan", "--from", "{tmp}/pipe.yaml"], 4, "unreadable",
     "it is a FIFO (named pipe)", fifo("pipe.yaml"), proc=True)
case("validate_fifo", "hangs", ["workflows", "validate", "{tmp}/pipe.yaml"], 4, "bad_definition",
     "cannot read: it is a FIFO", fifo("pipe.yaml"), proc=True, dbs="once")
case("checkpoint_fifo", "hangs", ["--as", "zhaomin", "audit", "verify", "--checkpoint", "{tmp}/pipe.line"], 4,
     "bad_input", "not a gongwen checkpoint", fifo("pipe.line"), proc=True)
case("sign_fifo", "hangs", ["--as", "wangqiang", "sign", "{tmp}/form.docx"], 4, "unreadable", "FIFO",
     fifo("form.docx"), proc=True)
case("key_new_ssh_fifo", "hangs", ["key", "new", "--login", "sunli", "--ssh", "{tmp}/id_ed25519"], 4, "bad_key",
     "it is a FIFO", fifo("id_ed25519"), proc=True, own=True, dbs="once")


def key_ref_to_fifo(ctx: Ctx) -> None:
    """zhangwei's key on this account is a reference (`key new --ssh`) to what is now a FIFO."""
    os.mkfifo(ctx.tmp / "id_ed25519")
    (ctx.account / "keys" / "zhangwei.ref").write_text(f"{ctx.tmp / 'id_ed25519'}\n", encoding="utf-8")


case("key_reference_to_a_fifo", "hangs", ["--as", "zhangwei", "do", "{draft}", "submit"], 1, "not_authenticated",
     "FIFO", key_ref_to_fifo, proc=True, own=True, timeout=5, dbs="once")  # the key folder's bug: one database
case("ingest_zip_bomb", "hangs", ["--as", "chenjing", "ingest", "{forms}/bomb.docx"], 4, "too_large",
     "unpacks to more than", proc=True, ingest=True)

# ================================================================================================
# exit 70 where 4 was due: internal errors before issue 13.
case("ingest_symlink_to_dev_zero", "exit70", ["--as", "chenjing", "ingest", "{tmp}/zero.docx"], 4, "unreadable",
     "character device", symlink("zero.docx", "/dev/zero"), proc=True, ingest=True)
case("new_from_dev_zero", "exit70", ["--as", "zhangwei", "new", "plan", "--from", "/dev/zero"], 4, "bad_input",
     "--from takes a .yaml or .json file", proc=True)
case("new_from_symlink_to_dev_zero", "exit70", ["--as", "zhangwei", "new", "plan", "--from", "{tmp}/zero.yaml"], 4,
     "unreadable", "it is a character device", symlink("zero.yaml", "/dev/zero"), proc=True)
for _name, _source, _fragment in [
    ("repeat_10e9", "{{ 'a' * 10**9 }}", "a value of 1 × 1,000,000,000"),
    ("recursive_macro", "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}", "calls nest more than 40 deep"),
    ("recursive_loop", "{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}", "calls nest more than 40 deep"),
    ("ljust_10e9", "{{ 'a'.ljust(1000000000) }}", "a width of 1,000,000,000"),
    ("percent_width", "{{ '%0999999999d' % 1 }}", "a width of 999,999,999"),
    ("format_width", "{{ '{:>999999999}'.format(1) }}", "a width of 999,999,999"),
    ("output_32mb", "{% set s = 'x' * 1000000 %}{% for i in range(100) %}{{ s }}{% endfor %}",
     "over 32,000,000 characters"),
]:
    case(f"template_{_name}", "exit70", ["--as", "zhangwei", "do", "{draft}", "edit"], 4, "bad_template",
         _fragment, put_template(_source), own=True)
for _name, _extra, _replace, _fragment in [
    ("binary_tag", "description: !!binary aGVsbG8=\n", None, "the YAML tag !!binary is not allowed"),
    ("set_tag", "params: !!set {a, b}\n", None, "the YAML tag !!set is not allowed"),
    ("custom_tag", "params: !secret x\n", None, "the YAML tag !secret is not allowed"),
    ("int_key", "params:\n  1: a\n", None, "keys must be text, not int '1'"),
    ("list_key", "params:\n  ? [a]\n  : b\n", None, "keys must be text, not a list or mapping"),
    ("recursive_alias", "params: &p {x: *p}\n", None, "a recursive alias"),
    ("min_abc", "", ("label: 数量}", "label: 数量, min: abc}"), "min of 'count' must be an integer, not 'abc'"),
    ("max_not_integer", "", ("label: 数量}", "label: 数量, max: 1.5}"), "max of 'count' must be an integer"),
    ("min_over_max", "", ("label: 数量}", "label: 数量, min: 5, max: 1}"), "max 1 of 'count' is below its min 5"),
    ("min_on_text", "", ("label: 标题}", "label: 标题, min: 1}"), "min applies to integer and decimal fields"),
]:
    case(f"definition_{_name}", "exit70", ["workflows", "validate", "{tmp}/definitions/mini.yaml"], 4,
         "bad_definition", _fragment, mini("mini", _extra, _replace or ("", "")), dbs="once")
case("from_json_lone_surrogate", "exit70", ["--as", "zhangwei", "new", "plan", "--from", "{tmp}/s.json"], 4,
     "bad_value", "title (标题): a lone surrogate U+D800 at position 1", put("s.json", '{"title": "\\ud800"}'))
case("set_nested_60000", "exit70", ["--as", "zhangwei", "new", "plan", "--set", "sections=" + "[" * 60_000], 4,
     "bad_value", "--set sections: nested more than 32 levels deep")
case("set_record_nested_60000", "exit70", ["--as", "zhangwei", "do", "{draft}", "edit",
                                          "--set", "sections.+=" + "{a: " * 60_000], 4,
     "bad_value", "--set sections.+: nested more than 32 levels deep")
case("from_json_nested_60000", "exit70", ["--as", "zhangwei", "new", "plan", "--from", "{tmp}/deep.json"], 4,
     "bad_input", "nested more than 32 levels deep",
     put("deep.json", '{"sections": ' + "[" * 60_000 + "]" * 60_000 + "}"))
for _command in (["show"], ["history"], ["docs"]):
    for _number in ("99999999999999999999", "9223372036854775808"):
        case(f"{_command[0]}_{_number[:4]}_out_of_range", "exit70", ["--as", "zhaomin", *_command, _number], 4,
             "not_found", f"no item '{_number}'")
case("do_superscript_number", "exit70", ["--as", "zhangwei", "do", "²", "edit"], 4, "not_found", "no item '²'")
case("db_option_notaurl", "exit70", ["--db", "notaurl", "--as", "chenjing", "list"], 4, "bad_db_url",
     "--db: 'notaurl' is not a database URL")
case("db_option_mysql", "exit70", ["--db", "mysql://gongwen:secret@dbhost/gw", "--as", "chenjing", "list"], 4,
     "bad_db_url", "--db: mysql databases are not supported")
case("env_gongwen_db_zzz", "exit70", ["--as", "chenjing", "list"], 4, "bad_db_url",
     "GONGWEN_DB: zzz databases are not supported", env={"GONGWEN_DB": "zzz://"})
case("config_db_url_zzz", "exit70", ["--as", "chenjing", "list"], 4, "bad_db_url",
     "gongwen.yaml: zzz databases are not supported", config(db_url="zzz://"), own=True)
case("config_db_url_not_text", "exit70", ["--as", "chenjing", "list"], 4, "bad_db_url",
     "db_url must be a database URL in quotes", config(db_url=5432), own=True)
case("config_timezone_mars", "exit70", ["--as", "zhangwei", "do", "{draft}", "submit"], 4, "bad_config",
     "timezone 'Mars/Olympus' is not a known time zone", config(timezone="Mars/Olympus"), own=True)
case("config_timezone_path", "exit70", ["--as", "zhangwei", "do", "{draft}", "submit"], 4, "bad_config",
     "is not a known time zone", config(timezone="../../etc/passwd"), own=True)
case("checkpoint_file_not_utf8", "exit70", ["--as", "zhaomin", "audit", "verify", "--checkpoint", "{tmp}/cp.line"],
     4, "bad_input", "it is not UTF-8 text", put("cp.line", b"\xff\xfe gongwen-checkpoint \x80\n"))
case("read_only_database", "exit70", ["--as", "zhangwei", "do", "{draft}", "submit"], 4, "read_only",
     "is read-only", fault=read_only("gongwen.db"), dbs="sqlite", own=True)
case("disk_full_rlimit_fsize", "exit70", ["--as", "zhangwei", "do", "{draft}", "submit"], 4, "io_error",
     "the disk may be full", dbs="sqlite", proc=True, own=True, rlimit_fsize=33 * 1024)
case("corrupt_database_page", "exit70", ["--as", "chenjing", "list"], 4, "damaged_db",
     "is not a gongwen database or is damaged", damage_db("corrupt_page"), dbs="sqlite", own=True,
     readable=False)
case("db_upgrade_truncated", "exit70", ["db", "upgrade"], 4, "damaged_db", "restore it from a backup",
     damage_db("truncated"), dbs="sqlite", own=True, readable=False)

# ================================================================================================
# failed, yet changed state: the documents are written by the engine; refused before the commit.
case("documents_folder_is_a_file", "changed_state", ["--as", "zhangwei", "do", "{draft}", "submit"], 4,
     "not_a_folder", "a file stands where gongwen needs a folder", documents_a_file, own=True)
case("documents_item_folder_read_only", "changed_state", ["--as", "zhangwei", "do", "{draft}", "submit"], 4,
     "read_only", "gongwen may not read or write there", fault=read_only("documents/{draft}"), own=True)
case("documents_folder_read_only_new", "changed_state", ["--as", "zhangwei", "new", "plan", "--title", "新文"], 4,
     "read_only", "gongwen may not read or write there", fault=read_only("documents"), own=True)


# ================================================================================================
# lost work: `gongwen demo` over work refuses without --force
def demo_with_work(ctx: Ctx) -> None:
    demo = ctx.tmp / "demo"
    made = run_process(["--json", "demo", demo], ctx, cwd=ctx.tmp)
    assert made.returncode == 0, made.stderr
    created = run_process(["--as", "zhangwei", "new", "plan", "--title", "真实工作"], ctx, cwd=demo)
    assert created.returncode == 0, created.stderr


case("demo_over_a_demo_holding_work", "lost_work", ["demo", "{tmp}/demo"], 4, "not_empty",
     "holds work added since the demo made it (1 event more)", demo_with_work, dbs="once", home=False)
case("demo_over_other_files", "lost_work", ["demo", "{tmp}/notes"], 4, "not_empty",
     "is not empty and it is not a demo workspace", put("notes/plan.txt", "my own work\n"), dbs="once", home=False)
case("demo_over_the_workspace", "lost_work", ["demo", "{root}"], 4, "not_empty", "--force", dbs="once", home=False,
     own=True)

# ================================================================================================
# misleading messages: each now says truthfully what is wrong
for _how in ("truncated", "garbage", "empty", "header_only", "foreign"):
    case(f"database_{_how}", "misleading", ["--as", "chenjing", "list"], 4, "damaged_db",
         "is not a gongwen database or is damaged", damage_db(_how), dbs="sqlite", own=True,
         readable=False)
case("database_missing", "misleading", ["--as", "chenjing", "list"], 4, "no_database",
     "does not exist: restore it from a backup", damage_db("missing"), dbs="sqlite", own=True, readable=False)
case("database_locked", "misleading", ["--as", "zhangwei", "do", "{draft}", "submit"], 4, "db_busy",
     "is locked by another program (waited 0.2 s", fault=lock_db, dbs="sqlite", own=True,
     env={"GONGWEN_BUSY_TIMEOUT": "0.2"})
case("postgresql_unreachable", "misleading", ["--db", DEAD_PG, "--as", "chenjing", "list"], 4, "db_unreachable",
     "cannot connect to PostgreSQL at 127.0.0.1:1 (database gongwen)")
for _name, _args, _fragment in [
    ("vt_in_title", ["--set", "title=a\x0bb"], "title (标题): the control character U+000B at position 2"),
    ("nul_in_summary", ["--set", "summary=a\x00b"], "summary (总体要求): the control character U+0000"),
    ("c1_in_cc", ["--set", "cc=\x85"], "cc (抄送): the control character U+0085 at position 1"),
    ("surrogate_in_title", ["--set", "title=a\udcffb"], "title (标题): a lone surrogate U+DCFF at position 2"),
    ("us_in_record", ["--set", "sections.+.heading=x\x1fy"], "sections.1.heading (一级标题): the control character"),
    ("newline_in_title_option", ["--title", "第一行\n第二行"], "--title: a line break or tab (U+000A)"),
    ("bell_in_comment", ["--title", "x", "-m", "意见\x07"], "comment: the control character U+0007"),
    ("nul_in_title_option", ["--title", "督导\x00"], "--title: the control character U+0000 at position 3"),
    ("title_10mb", ["--title", "长" * (10 * 1024 * 1024 // 3)], "--title"),
    ("set_title_10mb", ["--set", "title=" + "x" * (10 * 1024 * 1024)], "title (标题): too long"),
]:
    case(f"value_{_name}", "misleading", ["--as", "zhangwei", "new", "plan", "--set", "year=2025", *_args], 4,
         "bad_value", _fragment)
case("value_ff_in_edit", "misleading", ["--as", "zhangwei", "do", "{draft}", "edit", "--set", "cc=a\x0cb"], 4,
     "bad_value", "cc (抄送): the control character U+000C")
case("validate_id_differs_from_file_name", "misleading", ["workflows", "validate", "{tmp}/definitions/other.yaml"],
     4, "bad_definition", "id 'mini' does not match the file name other.yaml", mini("other", id_="mini"),
     dbs="once")

# ================================================================================================
# command-line arguments: usage (exit 2)
for _name, _args, _fragment in [
    ("unknown_option", ["--bogus"], "No such option"),
    ("unknown_command", ["frobnicate"], "No such command"),
    ("unknown_subcommand", ["workflows", "frobnicate"], "No such command"),
    ("unknown_option_of_do", ["do", "{draft}", "submit", "--force"], "No such option"),
    ("do_missing_item", ["do"], "Missing argument 'ITEM'"),
    ("do_missing_transition", ["do", "{draft}"], "Missing argument 'TRANSITION'"),
    ("new_missing_workflow", ["new"], "Missing argument"),
    ("users_grant_missing_roles", ["users", "grant", "lina"], "Missing argument"),
    ("set_empty_key", ["new", "plan", "--set", "=x"], "--set needs KEY=VALUE, got '=x'"),
    ("set_without_equals", ["do", "{draft}", "edit", "--set", "summary"], "--set needs KEY=VALUE"),
    ("set_missing_value", ["new", "plan", "--set"], "requires an argument"),
    ("expect_version_not_a_number", ["do", "{draft}", "submit", "--expect-version", "abc"], "not a valid integer"),
    ("graph_format_png", ["workflows", "graph", "plan", "--format", "png"], "Invalid value for '--format'"),
    ("export_format_xml", ["audit", "export", "--format", "xml", "-o", "{tmp}/x.xml"], "Invalid value"),
    ("export_without_output", ["audit", "export"], "Missing option '-o'"),
    ("docs_export_to_a_file", ["docs", "{draft}", "--export", "{root}/gongwen.yaml"], "is a file"),
    ("templates_check_missing_folder", ["templates", "check", "{tmp}/nowhere"], "does not exist"),
    ("key_new_ssh_folder", ["key", "new", "--login", "sunli", "--ssh", "{tmp}"], "is a directory"),
    ("sign_output_a_folder", ["sign", "{forms}/good.docx", "-o", "{tmp}"], "is a directory"),
]:
    case(f"usage_{_name}", "arguments", ["--as", "zhangwei", *_args], 2, "usage", _fragment, dbs="once")

# command-line arguments: names that do not exist, refusals (exit 1, 3, 4)
for _name, _args, _code, _reason, _fragment in [
    ("show_unknown_item", ["--as", "zhaomin", "show", "JH-1999-0001"], 4, "not_found", "no item 'JH-1999-0001'"),
    ("new_unknown_workflow", ["--as", "zhangwei", "new", "nosuch"], 4, "not_found", "unknown workflow 'nosuch'"),
    ("workflows_show_unknown", ["workflows", "show", "nosuch"], 4, "not_found", "unknown workflow 'nosuch'"),
    ("graph_unknown_workflow", ["workflows", "graph", "nosuch"], 4, "not_found", "unknown workflow 'nosuch'"),
    ("do_unknown_transition", ["--as", "lina", "do", "{review}", "fly"], 1, "not_an_exit", "no transition 'fly'"),
    ("do_not_an_exit", ["--as", "lina", "do", "{draft}", "forward"], 1, "not_an_exit", "not an exit of draft"),
    ("do_create", ["--as", "zhangwei", "do", "{draft}", "create"], 1, "not_an_exit", "create"),
    ("role_missing", ["--as", "zhaomin", "do", "{review}", "forward"], 1, "role_missing", "zhaomin lacks the role"),
    ("owner_only", ["--as", "lina", "do", "{review}", "withdraw"], 1, "role_missing", "lina"),
    ("separation_of_duties", ["--as", "boss", "do", "{boss}", "forward"], 1, "separation_of_duties",
     "boss created"),
    ("field_missing_comment", ["--as", "lina", "do", "{review}", "return"], 1, "field_missing", "-m"),
    ("field_missing_cleared", ["--as", "zhangwei", "do", "{draft}", "submit", "--set", "department="], 1,
     "field_missing", "主办科室"),
    ("field_locked", ["--as", "lina", "do", "{review}", "forward", "--set", "title=改过的标题"], 1, "field_locked",
     "title"),
    ("expression_false", ["--as", "zhangwei", "do", "{veto}", "submit"], 1, "expression_false", "一票否决"),
    ("unknown_user", ["--as", "nobody", "list"], 1, "unknown_user", "gongwen users add nobody"),
    ("unknown_user_env", ["do", "{draft}", "submit"], 1, "unknown_user", "unknown user 'stranger'"),
    ("not_authenticated", ["--as", "sunli", "new", "plan", "--title", "x"], 1, "not_authenticated",
     "no key of sunli on this account"),
    ("stale_expect_version", ["--as", "lina", "do", "{review}", "forward", "--expect-version", "1"], 3, "stale",
     "was changed by zhangwei"),
    ("not_an_exit_of_final_state", ["--as", "zhangwei", "do", "{applied}", "submit"], 1, "not_an_exit",
     "is not an exit of"),
    ("non_admin_users_add", ["--as", "zhangwei", "users", "add", "intruder", "--role", "supervisor"], 1,
     "role_missing", "not an admin"),
    ("non_admin_users_key", ["--as", "zhangwei", "users", "key", "lina", "{lina_key}"], 1, "role_missing",
     "not an admin"),
    ("users_add_unknown_role", ["--as", "admin", "users", "add", "x", "--role", "emperor"], 4, "bad_input",
     "unknown role 'emperor'"),
    ("users_add_existing", ["--as", "admin", "users", "add", "lina"], 4, "bad_input", "user 'lina' already exists"),
    ("users_add_bad_login", ["--as", "admin", "users", "add", "../x"], 4, "bad_login", "not a valid login"),
    ("users_grant_owner", ["--as", "admin", "users", "grant", "lina", "owner"], 4, "bad_input",
     "owner is a dynamic role"),
    ("users_grant_unknown_user", ["--as", "admin", "users", "grant", "ghost", "clerk"], 4, "not_found",
     "unknown user 'ghost'"),
    ("users_revoke_not_held", ["--as", "admin", "users", "revoke", "lina", "office"], 4, "bad_input",
     "does not hold the role 'office'"),
    ("users_key_short_base64", ["--as", "admin", "users", "key", "zhangwei", "ssh-ed25519 AAAA"], 4, "bad_key",
     "not valid base64 SSH data"),
    ("users_key_rsa", ["--as", "admin", "users", "key", "zhangwei", "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ x"], 4,
     "bad_key", "unsupported key algorithm 'ssh-rsa'"),
    ("users_key_empty", ["--as", "admin", "users", "key", "zhangwei", ""], 4, "bad_key", "ssh-ed25519 AAAA"),
    ("users_key_private_key_text", ["--as", "admin", "users", "key", "zhangwei", "--",
                                    "-----BEGIN OPENSSH PRIVATE KEY-----"], 4, "bad_key", ""),
    ("users_key_taken", ["--as", "admin", "users", "key", "lina", "{zhangwei_key}"], 4, "key_taken",
     "is already registered for zhangwei"),
    ("users_key_unknown_user", ["--as", "admin", "users", "key", "ghost", "{lina_key}"], 4, "not_found",
     "unknown user 'ghost'"),
    ("users_revoke_key_unknown_user", ["--as", "admin", "users", "revoke-key", "ghost"], 4, "not_found",
     "unknown user 'ghost'"),
    ("checkpoint_garbage", ["--as", "zhaomin", "audit", "verify", "--checkpoint", "garbage"], 4, "bad_input",
     "not a gongwen checkpoint"),
    ("checkpoint_size_not_a_number", ["--as", "zhaomin", "audit", "verify", "--checkpoint",
                                      "gongwen-checkpoint v1 size=abc root=00 head=00"], 4, "bad_input",
     "not a gongwen checkpoint"),
    ("checkpoint_root_not_hex", ["--as", "zhaomin", "audit", "verify", "--checkpoint",
                                 "gongwen-checkpoint v1 size=1 root=zz head=zz"], 4, "bad_input", "checkpoint"),
    ("checkpoint_empty_file", ["--as", "zhaomin", "audit", "verify", "--checkpoint", "{forms}/empty.line"], 4,
     "bad_input", "checkpoint"),
    ("checkpoint_folder", ["--as", "zhaomin", "audit", "export", "-o", "{tmp}/r.html", "--checkpoint", "{tmp}"], 4,
     "bad_input", "checkpoint"),
    ("export_to_missing_folder", ["--as", "zhaomin", "audit", "export", "-o", "{tmp}/nowhere/r.html"], 4,
     "bad_input", "does not exist"),
    ("export_to_proc", ["--as", "zhaomin", "audit", "export", "-o", "/proc/gongwen-report.html"], 4, "not_found",
     "/proc/gongwen-report.html: No such file or directory"),
    ("replay_at_not_a_time", ["--as", "zhaomin", "audit", "replay", "--at", "notatime"], 4, "bad_input",
     "is not an ISO date-time"),
    ("replay_at_impossible_date", ["--as", "zhaomin", "audit", "replay", "--at", "2025-02-30"], 4, "bad_input",
     "is not an ISO date-time"),
    ("sign_not_docx", ["--as", "wangqiang", "sign", "{forms}/notes.docx"], 4, "not_docx", "not a .docx file"),
    ("sign_missing_file", ["--as", "wangqiang", "sign", "{tmp}/missing.docx"], 4, "unreadable", "cannot read"),
    ("sign_by_another", ["--as", "lina", "sign", "{forms}/good.docx"], 1, "signer_mismatch",
     "the form is signed by 王强 (wangqiang), not lina"),
    ("sign_unwritable_output", ["--as", "wangqiang", "sign", "{forms}/good.docx", "-o", "{tmp}/nowhere/s.docx"], 4,
     "unwritable", "cannot write"),
    ("init_existing_workspace", ["--as", "admin", "init", "{root}"], 4, "bad_input", "already a gongwen workspace"),
    ("init_under_a_file", ["--as", "admin", "init", "{root}/gongwen.yaml/ws"], 4, "bad_input",
     "cannot create the workspace folder"),
    ("not_in_a_workspace", ["--as", "zhaomin", "list"], 4, "not_found", "not inside a gongwen workspace"),
    ("home_not_a_workspace", ["--home", "{tmp}", "--as", "zhaomin", "list"], 4, "not_found",
     "is not a gongwen workspace"),
]:
    _home = not _name.startswith(("not_in_a", "home_not", "init_"))
    _env = {"GONGWEN_USER": "stranger"} if _name == "unknown_user_env" else {}
    _dbs = "once" if _name.startswith(("init_", "not_in_a", "home_not")) else "both"
    case(_name, "arguments", _args, _code, _reason, _fragment, home=_home, env=_env, dbs=_dbs)
case("export_to_a_read_only_folder", "arguments", ["--as", "zhaomin", "audit", "export", "-o", "{tmp}/ro/r.html"],
     4, ("read_only", "unwritable"), "may not read or write there", lambda ctx: (ctx.tmp / "ro").mkdir(),
     fault=read_only("ro", "tmp"))
case("docs_export_to_a_read_only_folder", "arguments", ["--as", "zhaomin", "docs", "{applied}", "--export",
                                                        "{tmp}/ro"], 4, ("read_only", "unwritable"),
     "may not read or write there",
     lambda ctx: (ctx.tmp / "ro").mkdir(), fault=read_only("ro", "tmp"))
case("sign_a_read_only_form", "arguments", ["--as", "wangqiang", "sign", "{tmp}/form.docx"], 4,
     ("read_only", "unwritable"), "cannot write",
     lambda ctx: shutil.copy(ctx.forms / "good.docx", ctx.tmp / "form.docx"), fault=read_only("form.docx", "tmp"))
case("graph_output_in_a_missing_folder", "arguments", ["workflows", "graph", "plan", "-o", "{tmp}/nowhere/g.mmd"],
     4, "bad_input", "cannot write")
case("comment_over_1mb", "arguments", ["--as", "zhangwei", "do", "{draft}", "edit", "-m", "意" * 400_000], 4,
     "bad_value", "comment")
# -- issue 14: delegation (委托): the base holds one delegation, given and ended ({ended_delegation})
_DELEGATE = ["users", "delegate", "wangqiang"]
for _name, _args, _code, _reason, _fragment in [
    ("self", ["--as", "wangqiang", *_DELEGATE, "wangqiang", "--until", "2025-03-14", "-m", "休假"], 4,
     "bad_delegation", "cannot delegate to themself"),
    ("end_before_start", ["--as", "wangqiang", *_DELEGATE, "lina", "--from", "2025-03-14", "--until", "2025-03-12",
                          "-m", "休假"], 4, "bad_delegation", "before it starts"),
    ("end_in_the_past", ["--as", "wangqiang", *_DELEGATE, "lina", "--until", "2025-03-01", "-m", "休假"], 4,
     "bad_delegation", "would end in the past"),
    ("bad_date", ["--as", "wangqiang", *_DELEGATE, "lina", "--until", "2025-02-30", "-m", "休假"], 4, "bad_value",
     "is not a date"),
    ("unknown_principal", ["--as", "admin", "users", "delegate", "ghost", "lina", "--until", "2025-03-14", "-m",
                           "休假"], 4, "not_found", "unknown user 'ghost'"),
    ("unknown_delegate", ["--as", "wangqiang", *_DELEGATE, "ghost", "--until", "2025-03-14", "-m", "休假"], 4,
     "not_found", "unknown user 'ghost'"),
    ("role_not_held", ["--as", "wangqiang", *_DELEGATE, "lina", "--role", "office", "--until", "2025-03-14", "-m",
                       "休假"], 4, "bad_delegation", "does not hold the role 'office'"),
    ("admin_role", ["--as", "admin", "users", "delegate", "admin", "lina", "--role", "admin", "--until",
                    "2025-03-14", "-m", "休假"], 4, "bad_delegation", "cannot be delegated"),
    ("by_someone_else", ["--as", "lina", *_DELEGATE, "lina", "--until", "2025-03-14", "-m", "休假"], 1,
     "role_missing", "lina may not delegate wangqiang's roles"),
    ("end_unknown", ["--as", "admin", "users", "undelegate", "999"], 4, "not_found", "no delegation #999"),
    ("end_ended", ["--as", "admin", "users", "undelegate", "{ended_delegation}"], 4, "bad_delegation",
     "was already ended"),
    ("end_by_someone_else", ["--as", "lina", "users", "undelegate", "{ended_delegation}"], 1, "role_missing",
     "lina may not end delegation"),
]:
    case(f"delegation_{_name}", "arguments", _args, _code, _reason, _fragment)
# -- issue 14: timers (trigger: timer, deadlines:, gongwen tick): the base holds a clean_school item in
# 公示 since 2025-03-03, over on 3-08 ({publicity}), and one in 市级评估 ({assessing}); no system user
for _name, _replace, _extra, _fragment in [
    ("unknown_period_kind", ("roles: [clerk]}", "trigger: timer, after: {fortnights: 1}}"), "",
     "unknown period kind 'fortnights' in after of 'finish'"),
    ("negative_period", ("roles: [clerk]}", "trigger: timer, after: {workdays: -2}}"), "",
     "after of 'finish': workdays must be a whole number above 0, not -2"),
    ("two_period_kinds", ("roles: [clerk]}", "trigger: timer, after: {days: 1, hours: 2}}"), "",
     "takes exactly one of workdays, days, hours"),
    ("since_not_a_date", ("roles: [clerk]}", "trigger: timer, after: {days: 1}, since: count}"), "",
     "since 'count' is not a date field (it is integer)"),
    ("since_unknown", ("roles: [clerk]}", "trigger: timer, after: {days: 1}, since: nosuch}"), "",
     "since 'nosuch' is neither `entered` nor a field"),
    ("timer_with_roles", ("roles: [clerk]}", "roles: [clerk], trigger: timer, after: {days: 1}}"), "",
     "is fired by `gongwen tick` as the system user: it takes no roles"),
    ("timer_without_after", ("roles: [clerk]}", "trigger: timer}"), "", "timer transition 'finish' needs after:"),
    ("after_without_timer", ("roles: [clerk]}", "roles: [clerk], after: {days: 1}}"), "",
     "after: is only for a transition with trigger: timer"),
    ("deadline_unknown_state", None, "deadlines:\n  late: {title: 逾期, states: [nowhere], due: {after: {days: 3}}, "
     "notify: [clerk]}\n", "unknown state 'nowhere' in deadline 'late'"),
    ("deadline_due_not_a_date", None, "deadlines:\n  late: {title: 逾期, states: [draft], due: {field: count}, "
     "notify: [clerk]}\n", "due of deadline 'late': 'count' is not a date field (it is integer)"),
    ("deadline_without_due", None, "deadlines:\n  late: {title: 逾期, states: [draft], notify: [clerk]}\n",
     "deadline 'late' needs due:"),
    ("deadline_unknown_role", None, "deadlines:\n  late: {title: 逾期, states: [draft], due: {after: {days: 3}}, "
     "notify: [nobody]}\n", "unknown role 'nobody'"),
    ("deadline_notice_path", None, "deadlines:\n  late: {title: 逾期, states: [draft], due: {after: {days: 3}}, "
     "notify: [clerk], notice: ../催办.docx}\n", "bad notice template name '../催办.docx'"),
    ("deadline_escalate_period_kind", None, "deadlines:\n  late: {title: 逾期, states: [draft], due: {after: "
     "{days: 3}}, notify: [clerk], escalate: {after: {weeks: 1}, to: [clerk]}}\n",
     "unknown period kind 'weeks' in escalate of deadline 'late'"),
    ("deadline_on_a_final_state", None, "deadlines:\n  late: {title: 逾期, states: [done], due: {after: {days: 3}}, "
     "notify: [clerk]}\n", "'done' is final, nothing can be overdue there"),
]:
    case(f"definition_timer_{_name}", "definitions", ["workflows", "validate", "{tmp}/definitions/mini.yaml"], 4,
         "bad_definition", _fragment, mini("mini", _extra, _replace or ("", "")), dbs="once")
# -- issue 15: the procedure's declarations (unit-scoped roles, issuers, sequences, sub-field paths, 签发)
for _name, _replace, _extra, _fragment in [
    ("role_unit_field_unknown", ("  clerk: 拟稿人", "  clerk: {title: 拟稿人, unit_field: nosuch}"), "",
     "unit_field of role 'clerk' must name a text or choice field, not 'nosuch'"),
    ("role_unit_field_integer", ("  clerk: 拟稿人", "  clerk: {title: 拟稿人, unit_field: count}"), "",
     "unit_field of role 'clerk' must name a text or choice field, not 'count'"),
    ("role_unknown_key", ("  clerk: 拟稿人", "  clerk: {title: 拟稿人, scope: 学校}"), "",
     "unknown key 'scope' in role 'clerk'"),
    ("sub_field_of_a_text", ("roles: [clerk]}", "roles: [clerk], fields: [title.x]}"), "",
     "unknown sub-field 'title.x'"),
    ("sub_field_unknown_field", ("roles: [clerk]}", "roles: [clerk], fields: [nosuch.x]}"), "",
     "unknown field 'nosuch' in transition 'finish'"),
    ("editable_sub_field", ("  draft: {title: 起草}", "  draft: {title: 起草, editable: [count.x]}"), "",
     "unknown sub-field 'count.x' (a list field's sub-field: list.sub) in editable"),
    ("issuer_not_an_id", ("roles: [clerk]}", "roles: [clerk], issuer: 市教育局}"), "",
     "issuer of 'finish' must be an issuer id"),
    ("sequence_not_an_id", None, "numbers:\n  n: {title: 号, format: '{seq}', sequence: Bad-Seq}\n",
     "bad sequence 'Bad-Seq'"),
    ("signing_unknown_transition", None, "signing: {transition: nosuch, body: [title]}\n",
     "signing: unknown transition 'nosuch'"),
    ("signing_unknown_body_field", None, "signing: {transition: finish, body: [nosuch]}\n",
     "signing: unknown field 'nosuch' in body"),
    ("signing_without_body", None, "signing: {transition: finish}\n", "signing needs body"),
    ("signing_reopen_by_hand", None, "signing: {transition: finish, body: [title], reopen: finish}\n",
     "signing: reopen must name a transition with trigger: automatic, not 'finish'"),
    ("signing_unknown_key", None, "signing: {transition: finish, body: [title], after: finish}\n",
     "unknown key 'after' in signing"),
]:
    case(f"definition_procedure_{_name}", "definitions", ["workflows", "validate", "{tmp}/definitions/mini.yaml"],
         4, "bad_definition", _fragment, mini("mini", _extra, _replace or ("", "")), dbs="once")
for _name, _issuers, _fragment in [
    ("not_a_mapping", ["city"], "issuers must be a mapping"),
    ("without_code", {"city": {"name": "某某市教育局"}}, "issuers.city must give a name and a code"),
    ("two_lines", {"city": {"name": "某某市\n教育局", "code": "某市教发"}}, "issuers.city must give a name and a code"),
    ("the_workspace_own", {"bureau": {"name": "某某县教育局", "code": "某教发"}},
     "issuers.bureau is the workspace's own issuer"),
]:
    case(f"config_issuers_{_name}", "environment", ["--as", "chenjing", "list"], 4, "bad_config", _fragment,
         config(issuers=_issuers), own=True)
case("tick_without_the_system_key", "environment", ["tick"], 1, "not_authenticated", "signs as the system user")
case("tick_extra_argument", "arguments", ["tick", "now"], 2, "usage", "unexpected extra argument")
case("timer_fired_by_hand", "values", ["--as", "chenjing", "do", "{publicity}", "end_publicity"], 1, "not_an_exit",
     "no transition 'end_publicity' to fire by hand")
case("period_outside_the_calendar", "values", ["--as", "chenjing", "do", "{assessing}", "evaluate", "--set",
                                               "city_score=95", "--set", "publicity_start=2099-01-05", "--set",
                                               "publicity_end=2099-01-09"], 4, "calendar_unknown",
     "does not know 2099 yet")
case("workspace_calendar_unreadable", "environment", ["--as", "chenjing", "do", "{assessing}", "evaluate", "--set",
                                                      "city_score=95", "--set", "publicity_start=2025-03-11",
                                                      "--set", "publicity_end=2025-03-17"], 4, "bad_calendar",
     "years are four-digit years", lambda ctx: (ctx.root / "calendar.yaml").write_text("years: [abc]\n"), own=True)
# -- issue 14: 会签 (countersign): the base holds a plan item waiting for 计划财务股 ({countersign})
_OUTCOMES = "  agree: {title: 会签同意, from: [draft], to: done}\n  veto: {title: 会签否决, from: [draft], to: done}\n"
for _name, _block, _fragment in [
    ("quorum_over_list", "roles: [clerk], quorum: 2, agreed: agree, vetoed: veto",
     "quorum 2 of 'draft' is more than its 1 countersigners"),
    ("quorum_zero", "roles: [clerk], quorum: 0, agreed: agree, vetoed: veto", "quorum of 'draft' must be at least 1"),
    ("quorum_word", "roles: [clerk], quorum: most, agreed: agree, vetoed: veto", "must be all, majority or a number"),
    ("unknown_office_field", "field: nosuch, agreed: agree, vetoed: veto", "unknown field 'nosuch' in countersign"),
    ("office_field_not_choices", "field: count, agreed: agree, vetoed: veto", "must be of type choices"),
    ("unknown_role", "roles: [nobody], agreed: agree, vetoed: veto", "unknown role 'nobody'"),
    ("nobody_to_sign", "agreed: agree, vetoed: veto", "needs countersigners"),
    ("disagree_policy", "roles: [clerk], disagree: abstain, agreed: agree, vetoed: veto",
     "disagree of 'draft' must be veto or count"),
    ("outcome_with_roles", "roles: [clerk], agreed: finish, vetoed: veto", "it cannot have roles"),
    ("outcome_unknown", "roles: [clerk], agreed: nosuch, vetoed: veto", "unknown transition 'nosuch' as agreed"),
    ("outcome_missing", "roles: [clerk], vetoed: veto", "needs agreed"),
    ("form_path", "roles: [clerk], agreed: agree, vetoed: veto, form: ../会签单.docx", "bad form template name"),
]:
    case(f"definition_countersign_{_name}", "definitions", ["workflows", "validate", "{tmp}/definitions/mini.yaml"],
         4, "bad_definition", _fragment,
         mini("mini", _OUTCOMES, ("  draft: {title: 起草}", "  draft: {title: 起草, countersign: {%s}}" % _block)),
         dbs="once")
for _name, _args, _code, _reason, _fragment in [
    ("not_a_countersigner", ["--as", "zhaomin", "countersign", "{countersign}", "同意"], 1, "role_missing",
     "zhaomin is not one of the countersigners yet to sign (pending: 计划财务股)"),
    ("answer_neither", ["--as", "sunhua", "countersign", "{countersign}", "也许"], 4, "bad_value",
     "answers 同意 or 不同意, not '也许'"),
    ("for_unknown_office", ["--as", "sunhua", "countersign", "{countersign}", "同意", "--for", "督察科"], 4,
     "bad_value", "--for '督察科' is not a countersigner here"),
    ("outside_the_step", ["--as", "sunhua", "countersign", "{draft}", "同意"], 1, "not_an_exit",
     "where no 会签 is open"),
    ("outcome_by_hand", ["--as", "lina", "do", "{countersign}", "countersigned"], 1, "not_an_exit",
     "no transition 'countersigned' to fire by hand"),
    ("unknown_office_chosen", ["--as", "zhangwei", "do", "{draft}", "edit", "--set", "cosign_offices=后勤科"], 4,
     ("bad_input", "bad_value"), "'后勤科' is not one of 计划财务股、人事股、基础教育股、督导室"),
    ("comment_control_character", ["--as", "sunhua", "countersign", "{countersign}", "同意", "-m", "意\x07见"], 4,
     "bad_value", "U+0007"),
]:
    case(f"countersign_{_name}", "values", _args, _code, _reason, _fragment)
# -- issue 14: gongwen migrate (explicit migration of running items)
for _name, _args, _code, _reason, _fragment in [
    ("unknown_version", ["--to", "deadbeefdeadbeef"], 4, "not_found", "no version 'deadbeefdeadbeef' of plan"),
    ("map_without_equals", ["--map", "review"], 4, "bad_value", "give OLD_STATE=NEW_STATE"),
    ("map_to_unknown_state", ["--map", "review=nowhere"], 4, "bad_value", "has no state 'nowhere'"),
    ("unknown_item", ["--items", "JH-2099-0001"], 4, "not_found", "no item 'JH-2099-0001' of plan"),
]:
    case(f"migrate_{_name}", "values", ["--as", "admin", "migrate", "plan", *_args], _code, _reason, _fragment)
case("migrate_by_a_clerk", "values", ["--as", "zhangwei", "migrate", "plan"], 1, "role_missing",
     "only an admin migrates items")
case("migrate_unknown_workflow", "values", ["--as", "admin", "migrate", "nosuch"], 4, "not_found",
     "unknown workflow 'nosuch'")
# -- issue 17: the clerk's desk (ledger, search, bulk do, 附件, 作废, deactivation, worklist pages)
for _name, _args, _code, _reason, _fragment, _prepare in [
    ("import_not_xlsx", ["--as", "zhangwei", "import", "plan", "{tmp}/plan.xlsx"], 4, "not_xlsx", "not an .xlsx",
     put("plan.xlsx", "编号,标题\n")),
    ("export_ledger_not_xlsx", ["--as", "chenjing", "export", "ledger", "plan", "-o", "{tmp}/ledger.csv"], 4,
     "bad_value", "a ledger is written as .xlsx", None),
    ("export_ledger_unknown_state", ["--as", "chenjing", "export", "ledger", "plan", "-o", "{tmp}/l.xlsx",
                                     "--state", "nowhere"], 4, "unknown_state", "has no state 'nowhere'", None),
    ("attach_empty_file", ["--as", "zhangwei", "attach", "{draft}", "{tmp}/空.pdf"], 4, "empty_file", "is empty",
     put("空.pdf", b"")),
    ("attach_executable", ["--as", "zhangwei", "attach", "{draft}", "{tmp}/说明.pdf"], 4, "bad_file_type",
     "an executable program", put("说明.pdf", b"MZ\x90\x00" + b"\x00" * 60)),
    ("void_empty_reason", ["--as", "zhangwei", "void", "{draft}", "-m", " "], 4, "reason_missing",
     "needs a reason", None),
    ("bulk_where_unknown_filter", ["--as", "zhangwei", "do", "submit", "--where", "colour=red"], 4, "bad_value",
     "--where colour", None),
    ("bulk_all_from_binary", ["--as", "zhangwei", "do", "submit", "--all-from", "{tmp}/keys.txt"], 4, "bad_value",
     "not UTF-8 text", put("keys.txt", b"\xff\xfe\x00JH")),
    ("list_grep_empty", ["--as", "zhaomin", "list", "--grep", ""], 4, "bad_value", "--grep takes a text", None),
    ("list_sort_unknown", ["--as", "zhaomin", "list", "--sort", "colour"], 4, "bad_value", "--sort is one of",
     None),
    ("users_deactivate_self", ["--as", "admin", "users", "deactivate", "admin"], 1, "self_deactivation",
     "cannot deactivate themself", None),
]:
    case(_name, "values", _args, _code, _reason, _fragment, _prepare)
for _name, _args, _fragment in [
    ("list_from_not_a_date", ["--as", "zhaomin", "list", "--from", "2025-13-01"], "'2025-13-01' does not match"),
    ("worklist_limit_zero", ["--as", "zhangwei", "worklist", "--limit", "0"], "0 is not in the range"),
    ("bulk_without_transition", ["--as", "zhangwei", "do", "--where", "state=draft"], "Missing argument"),
]:
    case(_name, "arguments", _args, 2, "usage", _fragment)
case("countersign_missing_answer", "arguments", ["--as", "sunhua", "countersign", "{countersign}"], 2, "usage",
     "Missing argument")
for _option in ("name", "title"):
    case(f"users_add_control_character_in_{_option}", "arguments",
         ["--as", "admin", "users", "add", f"xq{_option}", f"--{_option}", "孙\x01丽"], 4, "bad_value", "U+0001",
         own=True)  # the bug writes: on SQLite into a copy of its own
case("db_grant_on_sqlite", "arguments", ["db", "grant", "clerk_x", "--user", "zhangwei"], 4, "bad_input",
     "gongwen db grant needs PostgreSQL", dbs="sqlite")
for _name, _args, _code, _reason, _fragment in [
    ("key_new_bad_login", ["key", "new", "--login", "a/b"], 4, "bad_login", "is not a valid login"),
    ("key_new_existing", ["key", "new", "--login", "zhangwei"], 4, "key_exists", "already has a key on this account"),
    ("key_new_ssh_missing", ["key", "new", "--login", "sunli", "--ssh", "{tmp}/id_ed25519"], 4, "bad_key",
     "cannot read: No such file"),
    ("key_show_no_key", ["key", "show", "--login", "nobody"], 1, "not_authenticated", "no key of nobody"),
]:
    case(_name, "arguments", _args, _code, _reason, _fragment, dbs="once", own=True)
for _name, _file, _fragment in [
    ("key_new_ssh_not_a_key", "hello\n", "not an OpenSSH Ed25519 private key"),
    ("key_new_ssh_public_key", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE1olx1EgCDtwH8u9A3GDCHjHA8G2etev8h12pn/Yqcl x\n",
     "not an OpenSSH Ed25519 private key"),
]:
    case(_name, "arguments", ["key", "new", "--login", "sunli", "--ssh", "{tmp}/id_ed25519"], 4, "bad_key",
         _fragment, put("id_ed25519", _file), dbs="once", own=True)

# ================================================================================================
# field values (new --set, new --from, do --set): exit 4, nothing created
for _name, _args, _reason, _fragment in [
    ("set_path_with_empty_part", ["--set", "a..b=1"], "bad_input", "unknown field 'a'"),
    ("set_index_not_a_number", ["--set", "sections.x.heading=abc"], "bad_input", "sections has 0 records"),
    ("set_index_zero", ["--set", "sections.0.heading=abc"], "bad_input", "sections has 0 records"),
    ("set_index_huge", ["--set", "sections.99999999999999999999.heading=a"], "bad_input", "sections has 0 records"),
    ("set_sub_of_text", ["--set", "title.x=abc"], "bad_input", "title (标题) is not a list"),
    ("set_unknown_field", ["--set", "nosuch=1"], "bad_input", "unknown field 'nosuch'"),
    ("set_unknown_record_field", ["--set", "sections.+.nosuch=1"], "bad_input", "unknown field 'nosuch' in 重点任务"),
    ("set_record_incomplete", ["--set", "sections.+.heading=只有标题"], "bad_input",
     "sections.1.content (任务内容) is required"),
    ("date_not_a_date", ["--set", "issue_date=abc"], "bad_input", "'abc' is not a valid date"),
    ("date_february_30", ["--set", "issue_date=2025-02-30"], "bad_input", "'2025-02-30' is not a valid date"),
    ("integer_not_a_number", ["--set", "year=abc"], "bad_input", "'abc' is not a valid integer"),
    ("integer_huge", ["--set", "year=99999999999999999999999"], "bad_input", "is above the maximum 2100"),
    ("integer_below_min", ["--set", "year=1999"], "bad_input", "below the minimum 2000"),
    ("integer_exponent", ["--set", "copies=1e400"], "bad_input", "'1e400' is not a valid integer"),
    ("choice_not_listed", ["--set", "kind=通知"], "bad_input", "'通知' is not one of 工作要点、工作计划、实施方案"),
    ("list_bad_yaml", ["--set", "sections={heading: x"], "bad_input", "is not a valid list"),
    ("list_duplicate_key", ["--set", "sections=- {heading: a, heading: b}"], "bad_input", "is not a valid list"),
    ("record_bad_yaml", ["--set", "sections.+={heading: x"], "bad_input", "is not a valid record"),
    ("set_key_with_newline", ["--set", "ti\ntle=x"], "bad_value", "--set"),
]:
    case(f"value_{_name}", "values", ["--as", "zhangwei", "new", "plan", *_args], 4, _reason, _fragment)
case("value_integer_on_transition", "values", ["--as", "zhangwei", "do", "{draft}", "edit", "--set", "copies=many"],
     4, "bad_input", "'many' is not a valid integer")
case("value_text_over_1mb_from_json", "values", ["--as", "zhangwei", "new", "plan", "--from", "{tmp}/long.json"], 4,
     "bad_value", "title (标题): too long (1.1 MB; the limit is 1.0 MB)",
     put("long.json", json.dumps({"title": "长" * 400_000, "year": 2025}, ensure_ascii=False)))
case("value_item_over_4mb", "values", ["--as", "zhangwei", "new", "plan", "--from", "{tmp}/big.json"], 4,
     "too_large", "the item's fields are too large",
     put("big.json", json.dumps({n: "x" * 900_000 for n in ("title", "department", "drafter_phone", "main_to", "cc")})))
case("value_control_in_from_record", "values", ["--as", "zhangwei", "new", "plan", "--from", "{tmp}/c.json"], 4,
     "bad_value", "sections.1.heading (一级标题): the control character U+000B",
     put("c.json", '{"title": "a", "sections": [{"heading": "x\\u000b", "content": "y"}]}'))

# files given to --from
for _name, _file, _text, _reason, _fragment in [
    ("not_json", "broken.json", "{not json", "bad_input", "not valid json"),
    ("list_not_mapping", "list.yaml", "- a\n- b\n", "bad_input", "mapping"),
    ("txt_suffix", "plan.txt", "title: x\n", "bad_input", ".yaml or .json"),
    ("latin1", "latin.yaml", "title: caf\xe9\n".encode("latin-1"), "unreadable", "not UTF-8 text (byte 10)"),
    ("binary_tag", "t.yaml", "title: !!binary aGVsbG8=\n", "bad_input", "the YAML tag !!binary is not allowed"),
    ("set_tag", "t.yaml", "title: !!set {a, b}\n", "bad_input", "the YAML tag !!set is not allowed"),
    ("python_tag", "t.yaml", "title: !!python/object:os.system x\n", "bad_input", "!!python/object:os.system"),
    ("int_key", "t.yaml", "title: x\n1: y\n", "bad_input", "keys must be text, not int '1'"),
    ("list_key", "t.yaml", "title: x\n? [a]\n: y\n", "bad_input", "keys must be text, not a list or mapping"),
    ("recursive_alias", "t.yaml", "title: &t [*t]\n", "bad_input", "a recursive alias"),
    ("empty_yaml", "empty.yaml", "", "bad_input", "mapping"),
    ("bom_and_garbage", "g.json", b"\xef\xbb\xbf\x00\x01\x02", "bad_input", ""),
]:
    case(f"from_{_name}", "files", ["--as", "zhangwei", "new", "plan", "--from", "{tmp}/" + _file], 4, _reason,
         _fragment, put(_file, _text))
case("from_missing_file", "files", ["--as", "zhangwei", "new", "plan", "--from", "{tmp}/absent.yaml"], 4,
     "unreadable", "cannot read: No such file")
case("from_folder", "files", ["--as", "zhangwei", "new", "plan", "--from", "{tmp}/values.yaml"], 4, "unreadable",
     "it is a folder, not a regular file", lambda ctx: (ctx.tmp / "values.yaml").mkdir())
case("from_16mb", "files", ["--as", "zhangwei", "new", "plan", "--from", "{tmp}/big.json"], 4, "too_large",
     "too large (16.0 MB; the limit is 16.0 MB)", sparse("big.json", 16 * 1024 * 1024 + 1))
case("workflows_validate_missing_file", "files", ["workflows", "validate", "{tmp}/absent.yaml"], 4,
     "bad_definition", "absent.yaml:1: cannot read", dbs="once")

# ================================================================================================
# definitions: `workflows validate FILE` names file:line (exit 4, bad_definition)
for _name, _replace, _extra, _fragment in [
    ("unknown_target_state", ("to: done, roles: [clerk]}", "to: done, roles: [clerk]}\n"
                                                            "  lost: {title: 丢失, from: [draft], to: finished}"),
     "", "mini.yaml:15: unknown state 'finished'"),
    ("unknown_source_state", ("from: [draft]", "from: [draft, limbo]"), "", "unknown state 'limbo'"),
    ("unreachable_state", ("  done: {title: 完成, final: true}",
                           "  done: {title: 完成, final: true}\n  orphan: {title: 孤立, final: true}"), "",
     "unreachable state 'orphan'"),
    ("duplicate_state", ("  done: {title: 完成, final: true}",
                         "  done: {title: 完成, final: true}\n  draft: {title: 又一个}"), "", "duplicate id 'draft'"),
    ("unknown_role", ("roles: [clerk]}", "roles: [boss]}"), "", "unknown role 'boss'"),
    ("guard_syntax", ("roles: [clerk]}", 'roles: [clerk], when: "fields.title =="}'), "", "bad guard expression"),
    ("guard_unknown_name", ("roles: [clerk]}", 'roles: [clerk], when: "secret.value > 1"}'), "",
     "unknown name 'secret'"),
    ("template_name_escapes", ("roles: [clerk]}", "roles: [clerk], templates: [../../gongwen.yaml]}"), "",
     "bad template name '../../gongwen.yaml'"),
    ("unknown_field_type", ("type: text, label: 标题", "type: txt, label: 标题"), "", "field type unknown: 'txt'"),
    ("key_prefix_dotdot", ("key_prefix: MN", "key_prefix: ../MN"), "", "bad key_prefix '../MN'"),
    ("key_prefix_absolute", ("key_prefix: MN", "key_prefix: /tmp/X"), "", "bad key_prefix"),
    ("initial_unknown", ("initial: draft", "initial: nowhere"), "", "nowhere"),
    ("transition_named_create", ("  finish: {", "  create: {"), "", "create"),
    ("signature_maybe", ("roles: [clerk]}", "roles: [clerk], signature: maybe}"), "",
     "signature must be required or optional"),
    ("choice_without_choices", ("type: text, label: 标题", "type: choice, label: 标题"), "", "choices"),
    ("bad_yaml_indent", ("  done: {title: 完成, final: true}", "   done: {title: 完成, final: true}"), "",
     "bad YAML"),
    ("bad_number_format", ("roles: [clerk]}", "roles: [clerk], assign: [n]}"),
     'numbers:\n  n: {title: 号, format: "{seq.real.x}"}\n', "bad number format"),
    ("unknown_number", ("roles: [clerk]}", "roles: [clerk], assign: [nosuch]}"), "", "nosuch"),
]:
    case(f"definition_{_name}", "definitions", ["workflows", "validate", "{tmp}/definitions/mini.yaml"], 4,
         "bad_definition", _fragment, mini("mini", _extra, _replace), dbs="once")
for _name, _text, _fragment in [
    ("empty_file", "", "mini.yaml:1: "),
    ("top_level_list", "- id: mini\n", "mini.yaml:1: "),
    ("not_utf8", "id: mini\ntitle: \xd0\xa1\n".encode("latin-1") + b"\xff\n", "mini.yaml:"),
]:
    case(f"definition_{_name}", "definitions", ["workflows", "validate", "{tmp}/definitions/mini.yaml"], 4,
         "bad_definition", _fragment, put("definitions/mini.yaml", _text), dbs="once")
case("definition_missing_template", "definitions", ["workflows", "validate", "{tmp}/definitions/mini.yaml"], 4,
     "bad_definition", "mini.yaml:14: missing template file mini/缺失.docx",
     both(mini("mini", "", ("roles: [clerk]}", "roles: [clerk], templates: [缺失.docx]}")),
          lambda ctx: (ctx.tmp / "templates_docx" / "mini").mkdir(parents=True)), dbs="once")
for _name, _replace, _extra, _fragment in [
    ("unknown_key_in_state", ("  draft: {title: 起草}", "  draft: {title: 起草, editble: all}"), "",
     "unknown key 'editble'"),
    ("unknown_key_in_worklist", ("", ""), "worklists:\n  todo: {title: 待办, states: [draft], roles: [clerk], "
                                          "colour: red}\n", "unknown key 'colour'"),
    ("unknown_key_in_number", ("roles: [clerk]}", "roles: [clerk], assign: [n]}"),
     'numbers:\n  n: {title: 号, format: "{seq}", colour: red}\n', "unknown key 'colour'"),
]:
    case(f"definition_{_name}", "definitions", ["workflows", "validate", "{tmp}/definitions/mini.yaml"], 4,
         "bad_definition", _fragment, mini("mini", _extra, _replace), dbs="once")
# a broken definition in the workspace: every command that loads it refuses, naming file:line
for _name, _args in [("list", ["--as", "zhaomin", "workflows", "list"]),
                     ("new", ["--as", "zhangwei", "new", "plan", "--title", "x"]),
                     ("users_add", ["--as", "admin", "users", "add", "sunny", "--role", "clerk"])]:
    case(f"workspace_definition_broken_{_name}", "definitions", _args, 4, "bad_definition", "plan.yaml:",
         lambda ctx: (ctx.root / "definitions" / "plan.yaml").write_text(
             (ctx.root / "definitions" / "plan.yaml").read_text(encoding="utf-8").replace(
                 "key_prefix: JH", "key_prefix: ../../JH"), encoding="utf-8"), own=True)

# ================================================================================================
# templates: refused naming template, part and paragraph; nothing written
for _name, _source, _fragment in [
    ("syntax_error", "{{ title ", "plan/修改记录.docx"),
    ("unknown_tag", "{% frobnicate %}", "plan/修改记录.docx"),
    ("undefined_attribute_call", "{{ nosuch.attr() }}", "plan/修改记录.docx"),
    ("sandbox_escape", "{{ ''.__class__.__mro__[1].__subclasses__() }}", "plan/修改记录.docx"),
    ("concat_10mb", "{% set a = '0123456789' %}{% set b = a~a~a~a~a~a~a~a~a~a %}{% set c = b~b~b~b~b~b~b~b~b~b %}"
     "{% set d = c~c~c~c~c~c~c~c~c~c %}{% set e = d~d~d~d~d~d~d~d~d~d %}{% set f = e~e~e~e~e~e~e~e~e~e %}"
     "{% set g = f~f~f~f~f~f~f~f~f~f %}{% set h = g~g~g~g~g~g~g~g~g~g %}{{ h }}",
     "builds a value of 10,000,000 characters"),
    ("center_10e9", "{{ 'a'|center(1000000000) }}", "a width of 1,000,000,000"),
]:
    case(f"template_{_name}", "templates", ["--as", "zhangwei", "do", "{draft}", "edit"], 4, "bad_template",
         _fragment, put_template(_source), own=True)
case("template_not_a_docx", "templates", ["--as", "zhangwei", "do", "{draft}", "edit"], 4, "bad_template",
     EDIT_TEMPLATE, lambda ctx: (ctx.root / "templates_docx" / "plan" / EDIT_TEMPLATE).write_bytes(b"not a zip"),
     own=True)
case("template_missing", "templates", ["--as", "zhangwei", "do", "{draft}", "edit"], 4, "unreadable",
     f"plan/{EDIT_TEMPLATE}: cannot read: No such file",
     lambda ctx: (ctx.root / "templates_docx" / "plan" / EDIT_TEMPLATE).unlink(), own=True)


def documents_link_outside(ctx: Ctx) -> None:
    """documents/<draft> replaced by a link to a folder outside the workspace."""
    folder = ctx.root / "documents" / ctx.keys["draft"]
    shutil.rmtree(folder)
    (ctx.tmp / "elsewhere").mkdir()
    folder.symlink_to(ctx.tmp / "elsewhere")


case("documents_link_outside", "changed_state", ["--as", "zhangwei", "do", "{draft}", "submit"], 4, "unsafe_path",
     "", documents_link_outside, own=True)
case("templates_check_broken", "templates", ["--as", "zhaomin", "templates", "check"], 4, "bad_input",
     f"1 of {len(list((helpers.CLASSIC / 'templates_docx').glob('*/*.docx')))} templates have problems",
     put_template("{{ title "), own=True, report=True)

# ================================================================================================
# ingest: one result row per file, its reason and exit code; nothing applied
for _name, _login, _file, _code, _reason, _fragment in [
    ("not_docx", "chenjing", "notes.docx", 4, "not_docx", "not a .docx file"),
    ("truncated_docx", "chenjing", "truncated.docx", 4, "corrupt", ""),
    ("broken_xml", "chenjing", "broken_xml.docx", 4, "corrupt", ""),
    ("forged_token", "chenjing", "forged.docx", 1, "forged", "does not verify"),
    ("other_secret", "chenjing", "other_secret.docx", 1, "forged", ""),
    ("no_code", "chenjing", "no_code.docx", 1, "forged", "no gongwen 校验码"),
    ("altered_title", "chenjing", "altered.docx", 1, "altered", "fixed content"),
    ("no_properties_altered", "chenjing", "no_properties_altered.docx", 1, "forged", "校验码"),
    ("already_applied", "chenjing", "applied.docx", 1, "already_applied", "chenjing"),
    ("unknown_signer", "chenjing", "unknown_signer.docx", 1, "unknown_signer", "赵六"),
    ("signed_without_role", "chenjing", "lina.docx", 1, "role_missing", ""),
    ("ambiguous_nothing_ticked", "chenjing", "ambiguous.docx", 1, "ambiguous_decision", "no decision"),
    ("stale_form", "chenjing", "stale.docx", 3, "stale", "print a new form"),
    ("auditor_ingests", "zhaomin", "good.docx", 1, "role_missing", ""),
    ("drafter_ingests", "zhangwei", "good.docx", 1, "role_missing", "office"),
    ("empty_file", "chenjing", "empty.docx", 4, "not_docx", ""),
]:
    case(f"ingest_{_name}", "ingest", ["--as", _login, "ingest", "{forms}/" + _file], _code, _reason, _fragment,
         ingest=True)
case("ingest_signer_mismatch", "ingest", ["--as", "chenjing", "ingest", "--signer", "wangqiang", "{forms}/lina.docx"],
     1, "signer_mismatch", "李娜", ingest=True)
case("ingest_missing_file", "ingest", ["--as", "chenjing", "ingest", "{tmp}/absent.docx"], 4, "unreadable",
     "No such file", ingest=True)
case("ingest_50mb", "ingest", ["--as", "chenjing", "ingest", "{tmp}/big.docx"], 4, "too_large", "MB",
     sparse("big.docx", 51 * 1024 * 1024), ingest=True)
case("ingest_signed_with_an_unknown_key", "ingest", ["--as", "chenjing", "ingest", "{forms}/unknown_key.docx"], 1,
     "unknown_key", "a key no one registered", ingest=True)
case("ingest_unknown_user", "ingest", ["--as", "nobody", "ingest", "{forms}/good.docx"], 1, "unknown_user",
     "nobody", ingest=True)

# ================================================================================================
# environment faults (the workspace's settings and the database)
case("config_garbage", "environment", ["--as", "chenjing", "list"], 4, "bad_config", "gongwen.yaml",
     config_text(b"\xff\xfe\x00garbage"), own=True)
case("config_not_a_mapping", "environment", ["--as", "chenjing", "list"], 4, "bad_config",
     "the workspace config must be a mapping", config_text("- a\n- b\n"), own=True)
case("config_alias_bomb", "environment", ["--as", "chenjing", "list"], 4, "bad_config", "aliases expand",
     config_text(LAUGHS), proc=True, own=True)
case("config_limits_bad", "environment", ["--as", "chenjing", "list"], 4, "bad_config", "limits.text_bytes",
     config(limits={"text_bytes": 1}), own=True)
case("schema_old", "environment", ["--as", "chenjing", "list"], 4, "schema_old", "run `gongwen db upgrade`",
     damage_db("revision=0002"), dbs="sqlite", own=True)
case("schema_newer", "environment", ["--as", "chenjing", "list"], 4, "schema_newer", "newer than this gongwen's",
     damage_db("revision=0009"), dbs="sqlite", own=True)
case("schema_unknown_revision", "environment", ["--as", "chenjing", "list"], 4, "damaged_db",
     "unknown schema revision 'abc123'", damage_db("revision=abc123"), dbs="sqlite", own=True)
case("db_upgrade_garbage", "environment", ["db", "upgrade"], 4, "damaged_db", "restore it from a backup",
     damage_db("garbage"), dbs="sqlite", own=True, readable=False)
case("read_only_workspace_folder", "environment", ["--as", "zhangwei", "do", "{draft}", "submit"], 4,
     "cannot_open", "gongwen.db", fault=read_only("."), dbs="sqlite", own=True)
case("no_form_secret", "environment", ["--as", "lina", "do", "{review}", "forward"], 4, "no_form_secret",
     "form secret", damage_db("no_form_secret"), dbs="sqlite", own=True)
case("postgresql_unreachable_env", "environment", ["--as", "chenjing", "list"], 4, "db_unreachable",
     "cannot connect to PostgreSQL at 127.0.0.1:1", env={"GONGWEN_DB": DEAD_PG})
case("init_unreachable_postgresql", "environment", ["--as", "admin", "init", "{tmp}/new", "--db", DEAD_PG], 4,
     "db_unreachable", "cannot connect to PostgreSQL", dbs="once", home=False)
case("init_mysql", "environment", ["--as", "admin", "init", "{tmp}/new", "--db", "mysql://u@h/x"], 4, "bad_db_url",
     "mysql databases are not supported", dbs="once", home=False)
case("demo_unreachable_postgresql", "environment", ["demo", "{tmp}/demo"], 4, "db_unreachable",
     "cannot connect to PostgreSQL", dbs="once", home=False, env={"GONGWEN_DB": DEAD_PG})
case("busy_timeout_not_a_number", "environment", ["--as", "zhaomin", "list"], 4, "bad_config",
     "GONGWEN_BUSY_TIMEOUT", env={"GONGWEN_BUSY_TIMEOUT": "soon"}, dbs="sqlite")  # SQLite's wait; PostgreSQL has none
case("init_on_a_database_holding_gongwen", "environment", ["--as", "admin", "init", "{tmp}/new", "--db", "{db_url}"],
     4, "db_not_empty", "already holds", home=False)
case("postgresql_login_without_privileges", "environment", ["--db", "{nopriv_url}", "--as", "chenjing", "list"], 4,
     "db_denied", "", dbs="postgresql")
case("db_grant_by_a_login_without_privileges", "environment",
     ["--db", "{nopriv_url}", "db", "grant", "clerk_x", "--user", "zhangwei"], 4, "db_denied",
     "the schema owner grants what gongwen needs", dbs="postgresql")


def grant_clerk(ctx: Ctx) -> None:
    """The schema owner gives the clerk's own database login what gongwen needs, bound to zhangwei."""
    from cli import cli

    result = CliRunner().invoke(cli, ["--home", str(ctx.root), "db", "grant", ctx.keys["clerk_login"], "--user",
                                      "zhangwei"], env={"GONGWEN_CONFIG_HOME": str(ctx.account)},
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output


case("db_grant_by_a_clerk_login", "environment",
     ["--db", "{clerk_url}", "--as", "zhangwei", "db", "grant", "other_x", "--user", "lina"], 1, "not_owner", "",
     grant_clerk, dbs="postgresql")
case("granted_login_acting_as_another", "environment", ["--db", "{clerk_url}", "--as", "lina", "do", "{review}",
                                                        "forward"], 1, "not_authenticated", "", grant_clerk,
     dbs="postgresql")
case("export_file_size_limit", "environment", ["--as", "zhaomin", "audit", "export", "--format", "json", "-o",
                                               "{tmp}/r.json"], 4, "disk_full", "File too large", proc=True,
     rlimit_fsize=36 * 1024)  # room for SQLite's 32 KB -shm, not for the report
case("docs_export_file_size_limit", "environment", ["--as", "zhaomin", "docs", "{applied}", "--export", "{tmp}/out"],
     4, "disk_full", "File too large", proc=True, rlimit_fsize=16 * 1024, dbs="postgresql")  # SQLite's -shm: 32 KB
case("home_is_a_file", "environment", ["--home", "{root}/gongwen.yaml", "--as", "zhaomin", "list"], 4, "not_found",
     "is not a gongwen workspace", home=False)


# ================================================================================================
# the base workspace (one per database per test process) and its files
@dataclass
class Base:
    db: str
    root: Path
    account: Path
    forms: Path
    keys: dict
    db_url: str | None


def rows(base_db: str, root: Path, db_url: str | None) -> dict:
    """Every row of every table as sorted reprs (sqlite3 on the SQLite file; plain SQL on
    PostgreSQL): cheaper than the reflection of helpers.snapshot, the same rows."""
    if base_db == "sqlite" or db_url is None:
        connection = sqlite3.connect(root / "gongwen.db")
        try:
            tables = [n for (n,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            return {n: sorted(map(repr, connection.execute(f'SELECT * FROM "{n}"'))) for n in sorted(tables)}
        finally:
            connection.close()
    from sqlalchemy import text

    engine = _pg_engine(db_url)
    with engine.connect() as connection:
        tables = [n for (n,) in connection.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"))]
        return {n: sorted(map(repr, connection.execute(text(f'SELECT * FROM "{n}"')))) for n in sorted(tables)}


_ENGINES: dict = {}


def _pg_engine(url: str):
    if url not in _ENGINES:
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        from workflow.store.db import normalise_url

        _ENGINES[url] = create_engine(normalise_url(url), poolclass=NullPool)
    return _ENGINES[url]


def files_of(root: Path) -> dict[str, str]:
    """Every file (sha256), folder and link under root, but SQLite's -wal and -shm companions."""
    found = {}
    if not root.exists():
        return found
    for path in sorted(root.rglob("*")):
        if path.name in SQLITE_TRANSIENT:
            continue
        relative = path.relative_to(root).as_posix()
        if path.is_symlink():
            found[relative] = "link " + os.readlink(path)
        elif path.is_dir():
            found[relative] = "folder"
        elif path.is_file():
            found[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            found[relative] = "special"
    return found


def checkpoint(root: Path) -> None:
    connection = sqlite3.connect(root / "gongwen.db")
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()


def make_forms(engine: Engine, ws, forms: Path) -> dict:
    """The returned forms the ingest cases use, written into `forms`, and the items behind them."""
    from workflow.forms.ingest import ingest

    def write(name: str, data: bytes) -> Path:
        path = forms / name
        path.write_bytes(data)
        return path

    approve = to_approve(engine)  # at 签发, its form filled in by 王强 (同意), never applied
    good = signed(engine, ws, approve)
    write("good.docx", good)
    old = reader.read(good, set()).token
    wrong = ("0" if old.mac[0] != "0" else "1") + old.mac[1:]
    write("forged.docx", with_token(good, formtoken.Token(old.key, old.revision, old.seq, old.content, wrong), old))
    write("other_secret.docx", with_token(good, formtoken.sign(b"not the secret", old.key, old.revision, old.seq,
                                                               old.content), old))
    write("no_code.docx", without_properties(without_code_line(good)))
    write("altered.docx", set_cell(good, "标题", "某某县教育局2025年工作要点（修订稿）"))
    write("no_properties_altered.docx", set_cell(without_properties(good), "标题", "某某县教育局2025年工作总结"))
    write("unknown_signer.docx", signed(engine, ws, approve, signer="赵六"))
    write("lina.docx", signed(engine, ws, approve, signer="李娜"))
    from test_ingest import the_form

    blob, _, spec = the_form(engine, ws, approve)
    write("ambiguous.docx", formfill.fill(blob, spec, None, opinion="", signer="王强", date=DATE))
    write("truncated.docx", good[:len(good) // 2])
    write("broken_xml.docx", rewrite(good, {"word/document.xml": lambda xml: xml[:len(xml) // 2]}))
    write("notes.docx", "领导批示：同意。\n签发人：王强\n".encode())
    write("empty.docx", b"")
    write("unknown_key.docx", signed_by_a_stranger(engine, good))
    write("empty.line", b"")
    write("outside.docx", template_with("{{ title }}"))  # a valid template outside templates_docx/
    applied = to_approve(engine)
    ingested = ingest(engine, "chenjing", [write("applied.docx", signed(engine, ws, applied))])
    assert ingested[0]["ok"], ingested
    stale = to_approve(engine)
    write("stale.docx", signed(engine, ws, stale))
    engine.fire("lina", stale, "return", "附件不全，先退回。")
    return {"approve": approve, "applied": applied, "stale": stale}


def signed_by_a_stranger(engine: Engine, blob: bytes) -> bytes:
    """The form with a `gongwen sign` signature over its true statement, made with a key that
    no one registered (as wangqiang's own, on another account)."""
    from workflow.documents import docprops
    from workflow.forms.ingest import examine
    from workflow.forms.signing import statement_of
    from workflow.identity import formsig, keys

    with engine.db.read() as session:
        seen = examine(engine, session, blob, "wangqiang")
    stranger = keys.Signer.from_private("wangqiang", keys.generate_private(), "wangqiang@elsewhere")
    return docprops.set_property(blob, formsig.PROPERTY, formsig.sign(stranger, statement_of(seen)))


_BOMB: list[bytes] = []


def zip_bomb() -> bytes:
    """A 250 KB .docx whose document.xml unpacks to 256 MB (built once per process)."""
    if not _BOMB:
        import io

        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.'
                             'openxmlformats.org/package/2006/content-types"/>')
            with archive.open("word/document.xml", "w", force_zip64=True) as member:
                chunk = b" " * (1 << 20)
                for _ in range(256):
                    member.write(chunk)
        _BOMB.append(out.getvalue())
    return _BOMB[0]


def build_base(db: str, db_url: str | None, top: Path) -> Base:
    """A workspace with the demo's users (and sunli, registered without a key), items in each
    state the cases need and the forms of test_ingest's kinds; closed, its SQLite file
    checkpointed, so that every case starts from plain bytes."""
    account, forms = top / "account", top / "forms"
    forms.mkdir()
    with pytest.MonkeyPatch.context() as env:
        for name in ("GONGWEN_HOME", "GONGWEN_USER", "GONGWEN_DB", "GONGWEN_PASSPHRASE"):
            env.delenv(name, raising=False)
        env.setenv("GONGWEN_NOW", NOW)
        env.setenv("GONGWEN_CONFIG_HOME", str(account))
        ws = init(top / "ws", db_url=db_url)
        use_classic(ws.root)
        try:
            add_users(ws, USERS)
            from workflow.engine import admin

            admin.manage_users(ws, "admin", "add", "sunli", ["clerk"], name="孙丽", title="科员")
            engine = Engine(ws)
            keys = {"draft": engine.create("zhangwei", "plan", values=plan_values()).key}
            review = engine.create("zhangwei", "plan", values=plan_values()).key
            engine.fire("zhangwei", review, "submit")
            boss = engine.create("boss", "plan", values=plan_values()).key
            engine.fire("boss", boss, "submit")
            veto = engine.create("zhangwei", "clean_school", values=clean_school_values(
                veto_items=[{"item": "发生重大安全责任事故", "hit": True}])).key
            keys.update(review=review, boss=boss, veto=veto, **make_forms(engine, ws, forms))
            # -- issue 14: 会签: a plan item waiting for 计划财务股's opinion
            keys["countersign"] = engine.create("zhangwei", "plan", values=plan_values(cosign_offices="计划财务股")).key
            engine.fire("zhangwei", keys["countersign"], "submit")
            engine.fire("lina", keys["countersign"], "to_countersign")
            from workflow.identity.keyring import KeyRing

            ring = KeyRing()
            keys.update(lina_key=ring.signer("lina").public.line, zhangwei_key=ring.signer("zhangwei").public.line)
            # -- issue 14: delegation: one given and ended, for the undelegate cases
            from workflow.engine import delegation

            given = delegation.delegate(ws, "wangqiang", "wangqiang", "zhaomin", [], "2025-03-14", None, "休假")
            delegation.undelegate(ws, "wangqiang", given.id)
            keys.update(ended_delegation=str(given.id))
            # -- issue 14: timers: a 公示 over since 3-08 (tick has something to do) and an assessment
            keys["assessing"] = engine.create("zhangwei", "clean_school", values=clean_school_values()).key
            engine.fire("zhangwei", keys["assessing"], "submit")
            engine.fire("lina", keys["assessing"], "forward", sets=[("county_opinion", "同意推荐。")])
            keys["publicity"] = engine.create("zhangwei", "clean_school", values=clean_school_values()).key
            engine.fire("zhangwei", keys["publicity"], "submit")
            engine.fire("lina", keys["publicity"], "forward", sets=[("county_opinion", "同意推荐。")])
            engine.fire("wangqiang", keys["publicity"], "approve", sets=[
                ("city_score", "95"), ("publicity_start", "2025-03-03"), ("publicity_end", "2025-03-07")])
        finally:
            ws.close()
    (forms / "bomb.docx").write_bytes(zip_bomb())
    if db == "sqlite":
        checkpoint(ws.root)
    return Base(db, ws.root, account, forms, keys, db_url)


@pytest.fixture(scope="module")
def bases(tmp_path_factory):
    """base(db, request): the module's workspace on that database, made when a case first asks
    (a run of SQLite cases alone never starts PostgreSQL)."""
    made: dict[str, Base] = {}

    def get(db: str, request) -> Base:
        if db not in made:
            db_url = None
            if db == "postgresql":
                pg_server = request.getfixturevalue("pg_server")
                if pg_server is None:
                    print("skipped: pgserver is not installed (pip install -e '.[test]')")
                    pytest.skip("pgserver is not installed")
                name = "gw_" + uuid.uuid4().hex[:12]
                pg_server.psql(f"CREATE DATABASE {name}; CREATE ROLE {name}_nopriv LOGIN; "
                               f"CREATE ROLE {name}_clerk LOGIN;")
                db_url = pg_server.get_uri(name)
            made[db] = build_base(db, db_url, tmp_path_factory.mktemp(f"bad_inputs_{db}"))
            if db_url:  # a login of its own, with no privilege on gongwen's tables
                nopriv = db_url.replace("://postgres:@", f"://{name}_nopriv:@")
                assert nopriv != db_url, db_url
                made[db].keys.update(db_url=db_url, nopriv_url=nopriv, clerk_login=f"{name}_clerk",
                                     clerk_url=db_url.replace("://postgres:@", f"://{name}_clerk:@"))
        return made[db]

    yield get
    for engine in _ENGINES.values():
        engine.dispose()


# -- running a case ------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def time_limit():
    """An in-process case that hangs fails after IN_PROCESS_SECONDS."""
    yield from helpers.time_limit(IN_PROCESS_SECONDS)


def child_env(ctx: Ctx, extra: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GONGWEN_")}
    env.update(GONGWEN_NOW=NOW, GONGWEN_CONFIG_HOME=str(ctx.account))
    if gongwen_command()[0] == sys.executable:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.update(extra or {})
    return env


def run_process(argv, ctx: Ctx, cwd: Path, env: dict | None = None, rlimit_fsize: int | None = None,
                timeout: float = 0):
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (rlimit_fsize, rlimit_fsize))

    try:
        return subprocess.run([*gongwen_command(), *map(str, argv)], cwd=cwd, env=child_env(ctx, env),
                              capture_output=True, text=True, encoding="utf-8", errors="replace",
                              timeout=timeout or SUBPROCESS_SECONDS, stdin=subprocess.DEVNULL,
                              preexec_fn=limit if rlimit_fsize else None)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running after {timeout or SUBPROCESS_SECONDS} s: a hang: "
                    f"gongwen {' '.join(map(str, argv))[:200]}", pytrace=False)


def run(case: Case, ctx: Ctx, argv: list[str], monkeypatch) -> tuple[int, str, str]:
    """The command line in a child process (case.proc) or in-process; exit code, stdout, stderr."""
    if case.proc:
        proc = run_process(argv, ctx, ctx.tmp, case.env, case.rlimit_fsize, case.timeout)
        return proc.returncode, proc.stdout, proc.stderr
    from cli import cli

    monkeypatch.chdir(ctx.tmp)
    env = {"GONGWEN_CONFIG_HOME": str(ctx.account), "GONGWEN_NOW": NOW, **case.env}
    result = CliRunner().invoke(cli, argv, env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def reasons(case: Case) -> tuple:
    return case.reason if isinstance(case.reason, tuple) else (case.reason,)


def check_human(case: Case, code: int, out: str, err: str) -> str:
    """The exit code and the one line (no traceback, no internal error); the line."""
    assert code == case.code, f"exit {code}, not {case.code}:\n{out}{err}"
    assert "Traceback" not in out + err and "internal error" not in out + err, out + err
    if case.ingest:
        assert err == "", err
        lines = out.splitlines()
        assert len(lines) == 1 and lines[0].startswith("refused  "), out
        assert any(f": {reason}: " in lines[0] for reason in reasons(case)), lines[0]
    elif case.code == 2:  # a usage error: one `error: ...` line too, naming where the help is
        assert out == "", out
        lines = err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and "--help`)" in lines[0], err
    else:
        assert out == "" or case.report, out
        lines = err.splitlines()
        assert lines and lines[0].startswith("error: "), err
        if case.reason == "bad_definition":  # one `file:line: problem` line per problem
            assert all(re.match(r"\S+:\d+: ", line) for line in [lines[0][7:], *lines[1:]]), err
            lines = ["\n".join(lines)]
        else:
            assert len(lines) == 1, err
    assert case.fragment in lines[0], lines[0]
    return lines[0]


def check_json(case: Case, code: int, out: str, err: str) -> str:
    """The exit code and the one JSON document with the case's reason; its message as the
    human line."""
    assert code == case.code, f"exit {code}, not {case.code}:\n{out}{err}"
    assert err == "", err
    assert "Traceback" not in out, out
    document = json.loads(out)  # exactly one document, or this raises
    if case.ingest:
        [row] = document["results"]
        assert row["ok"] is False and row["reason"] in reasons(case) and row["exit_code"] == case.code, row
        return f"refused  {row['file']}: {row['reason']}: {row['message']}"
    assert len(out.splitlines()) == 1, out
    error = document["error"]
    assert error["reason"] in reasons(case), error
    return "error: " + (" ".join(error["message"].split()) if case.code == 2 else error["message"])


def params():
    for c in CASES:
        dbs = {"both": ["sqlite", "postgresql"], "sqlite": ["sqlite"], "postgresql": ["postgresql"],
               "once": ["sqlite"]}[c.dbs]
        for db in dbs:
            label = "any" if c.dbs == "once" else db
            marks = [pytest.mark.xfail(strict=True, reason=c.xfail)] if c.xfail and db in c.xfail_dbs else []
            yield pytest.param(db, c, id=f"{label}-{c.category}-{c.name}", marks=marks)


def test_the_catalogue_is_large_and_covers_every_category():
    names = [c.name for c in CASES]
    assert len(names) == len(set(names)), sorted({n for n in names if names.count(n) > 1})
    assert len(CASES) >= 100
    assert {c.category for c in CASES} == {"hangs", "exit70", "changed_state", "lost_work", "misleading",
                                           "arguments", "values", "files", "definitions", "templates", "ingest",
                                           "environment"}


def state(case: Case, ctx: Ctx, base: Base) -> dict:
    """What must not change: the database's rows (when it can be read), the files of the
    workspace, of the key folder, of the base's forms and of the case's inputs."""
    return {"database rows": rows(base.db, ctx.root, base.db_url) if case.readable else None,
            "workspace files": files_of(ctx.root), "key folder": files_of(ctx.account),
            "forms": files_of(base.forms), "input files": files_of(ctx.tmp)}


@pytest.mark.parametrize("db, case", list(params()))
def test_bad_input(bases, request, db: str, case: Case, tmp_path, monkeypatch):
    base = bases(db, request)
    ctx = Ctx(db, base.root, base.account, tmp_path / "in", base.forms, dict(base.keys))
    ctx.tmp.mkdir()
    if case.own:
        ctx.root = tmp_path / "ws"
        shutil.copytree(base.root, ctx.root, symlinks=True)
        ctx.account = tmp_path / "account"
        shutil.copytree(base.account, ctx.account, symlinks=True)
    argv = [_fill(a, ctx.vars) for a in case.argv]
    if case.home:
        argv = ["--home", str(ctx.root), *argv]
    try:
        if case.prepare:
            case.prepare(ctx)
        before = state(case, ctx, base)
        if case.fault:
            case.fault(ctx)
        code, out, err = run(case, ctx, argv, monkeypatch)
        line = check_human(case, code, out, err)
        code, out, err = run(case, ctx, ["--json", *argv], monkeypatch)
        said = check_json(case, code, out, err)  # a usage line adds where the help is
        assert said == (line.rsplit(" (see `", 1)[0] if case.code == 2 else line)
        while ctx.undo:
            ctx.undo.pop()()
        after = state(case, ctx, base)
        for what in before:
            assert after[what] == before[what], f"{what} changed"
    finally:
        while ctx.undo:
            ctx.undo.pop()()


def _fill(arg: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        arg = arg.replace("{" + name + "}", value)
    return arg
