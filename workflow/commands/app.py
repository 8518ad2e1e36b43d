"""What every command shares: the per-invocation App (output mode, acting user, workspace opened
on first use) and the root group that turns every error into one line and its exit code."""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING, Any

import click

from workflow.errors import USAGE, GongwenError, os_fault
from workflow.i18n import _, install, localized, say

if TYPE_CHECKING:
    from workflow.engine.engine import Engine
    from workflow.identity.keyring import KeyRing
    from workflow.store.workspace import Workspace

INTERNAL = 70  # EX_SOFTWARE: a bug in gongwen, not a user mistake


class App:
    """Per-invocation state: output mode, acting user, workspace (opened on first use)."""

    def __init__(self, as_json: bool, home: str | None, login: str | None, db_url: str | None = None):
        self.as_json = as_json
        self.home = home
        self.login_option = login
        self.db_url = db_url
        self.check_schema = True  # `gongwen db ...` works on older schemas
        self._workspace: Workspace | None = None

    @property
    def workspace(self) -> Workspace:
        if self._workspace is None:
            from workflow.store.workspace import Workspace, find_root

            workspace = Workspace(find_root(self.home), self.db_url)
            if self.check_schema:
                from workflow.store.migrate import require_current

                try:
                    require_current(workspace.db)
                except BaseException:
                    workspace.close()
                    raise
            self._workspace = workspace
        return self._workspace

    def optional_workspace(self) -> Workspace | None:
        """The workspace, or None outside one (commands that fall back to the shipped files)."""
        from workflow.errors import NotFound

        try:
            return self.workspace
        except NotFound:
            return None

    @property
    def engine(self) -> Engine:
        from workflow.engine.engine import Engine

        return Engine(self.workspace, self.keys)

    @property
    def keys(self) -> KeyRing:
        """This account's private keys; an encrypted one asks its passphrase on a terminal."""
        from workflow.identity.keyring import KeyRing

        workspace = self.optional_workspace()
        return KeyRing(workspace.root if workspace is not None else None,
                       passphrase=_prompt_passphrase if sys.stdin.isatty() else None)

    @property
    def login(self) -> str:
        from workflow.engine.users import acting_login

        return acting_login(self.login_option)

    def close(self) -> None:
        if self._workspace is not None:
            self._workspace.close()

    def emit(self, data: Any, human: str | None = None) -> None:
        if self.as_json:
            click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
        elif human is not None:
            click.echo(human)
        warning = data.get("warning") if isinstance(data, dict) else None
        if warning:  # done and recorded, with something left to do (exit 0): one line on stderr
            click.echo(say("warning: {warning}", warning=warning), err=True)


def internal_message(exc: BaseException) -> str:
    """One line for a bug: what broke, and how to see where (the exception's first line only:
    a driver's error goes on with the statement and a link)."""
    said = " ".join(str(exc).split("(Background on this error", 1)[0].split("\n", 1)[0].split())
    said = said if len(said) <= 300 else said[:297] + "..."
    return say("internal error, please report: {error} (run again with GONGWEN_DEBUG=1 to see the traceback)",
               error=f"{type(exc).__name__}{': ' + said if said else ''}")


def _error_json(reason: str, message: str) -> str:
    return json.dumps({"error": {"reason": reason, "message": message}}, ensure_ascii=False)


class GongwenGroup(click.Group):
    """Turns every error into one clear line (or one JSON document) and its exit code."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        args = list(sys.argv[1:] if args is None else args)
        as_json = "--json" in args
        install()  # click's own words (Usage:, Options:) from our catalog too
        translate_help(self)
        try:
            code = super().main(args=args, prog_name=prog_name or "gongwen", complete_var=complete_var,
                                standalone_mode=False, **extra)
            code = code if isinstance(code, int) else 0
        except GongwenError as exc:
            code = exc.exit_code
            if as_json:
                click.echo(json.dumps({"error": exc.to_json()}, ensure_ascii=False))
            else:
                click.secho(error_line(localized(exc.message, exc.template, exc.params)), err=True, fg="red")
        except click.ClickException as exc:
            code = exc.exit_code
            if as_json:
                click.echo(_error_json("usage" if code == USAGE else "bad_input", exc.format_message()))
            else:  # one line, like every other error: what is wrong, and where the help is
                context = getattr(exc, "ctx", None)
                hint = say(" (see `{command} --help`)", command=context.command_path if context is not None
                           else "gongwen")
                click.secho(error_line(f"{' '.join(exc.format_message().split())}{hint}"), err=True, fg="red")
        except click.Abort:
            click.echo(_("aborted"), err=True)
            code = 1
        except BrokenPipeError:  # the reader went away (`gongwen ... | head`): nothing to say, and no one to say it to
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes stdout at exit
            code = 1
        except OSError as exc:  # the disk or a folder stands in the way: no bug, one line, exit 4
            if os.environ.get("GONGWEN_DEBUG"):
                raise
            fault = os_fault(exc)
            code = fault.exit_code
            click.echo(json.dumps({"error": fault.to_json()}, ensure_ascii=False) if as_json
                       else error_line(fault.message), err=not as_json)
        except Exception as exc:  # a bug of ours: one line, the traceback on request
            if os.environ.get("GONGWEN_DEBUG"):
                raise
            code = INTERNAL
            message = internal_message(exc)
            click.echo(_error_json("internal", message) if as_json else error_line(message),
                       err=not as_json)
        if standalone_mode:
            sys.exit(code)
        return code


def error_line(message: str) -> str:
    return say("error: {message}", message=message)


def translate_help(command: click.Command) -> None:
    """click keeps the help texts it was given at import: say them in the user's language now,
    from the English originals (kept on each command and option, so that every run, and every
    CliRunner test with its own environment, translates afresh). The catalog has every help text
    (tests/test_i18n_catalog.py)."""
    cached_help_option = getattr(command, "_help_option", None)  # click makes it once, in the first run's words
    for obj in [command, *command.params, *([cached_help_option] if cached_help_option is not None else [])]:
        for attr in ("help", "short_help"):
            english = obj.__dict__.setdefault(f"_english_{attr}", getattr(obj, attr, None))
            if english:
                setattr(obj, attr, _(english))
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            translate_help(sub)


def _prompt_passphrase(login: str) -> str:
    return str(click.prompt(say("passphrase for the key of {login}", login=login), hide_input=True, err=True))


def parse_sets(values: Any) -> list[tuple[str, str]]:
    """--set KEY=VALUE options as (key, value) pairs. A key is one line of text; a value nested
    deeper than inputs.MAX_DEPTH (`[[[[...`) is refused here (exit 4), before any parser
    recurses into it; the field's type checks the rest of the value."""
    from workflow.errors import BadInput
    from workflow.i18n import Msg
    from workflow.inputs import MAX_DEPTH, MAX_KEY_CHARS, bracket_depth, check_text

    pairs = []
    for text in values:
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            raise click.UsageError(say("--set needs KEY=VALUE, got {text!r}", text=text[:80]))
        key = check_text(key.strip(), "--set", multiline=False, limit=MAX_KEY_CHARS)
        if bracket_depth(value, MAX_DEPTH) > MAX_DEPTH:
            raise BadInput(Msg("--set {key}: nested more than {depth} levels deep", key=key, depth=MAX_DEPTH),
                           reason="bad_value")
        pairs.append((key, value))
    return pairs
