"""What every command shares: the per-invocation App (output mode, acting user, workspace opened
on first use) and the root group that turns every error into one line and its exit code."""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING, Any

import click

from workflow.errors import USAGE, GongwenError

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

                require_current(workspace.db)
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


def _error_json(reason: str, message: str) -> str:
    return json.dumps({"error": {"reason": reason, "message": message}}, ensure_ascii=False)


class GongwenGroup(click.Group):
    """Turns every error into one clear line (or one JSON document) and its exit code."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        args = list(sys.argv[1:] if args is None else args)
        as_json = "--json" in args
        try:
            code = super().main(args=args, prog_name=prog_name or "gongwen", complete_var=complete_var,
                                standalone_mode=False, **extra)
            code = code if isinstance(code, int) else 0
        except GongwenError as exc:
            code = exc.exit_code
            if as_json:
                click.echo(json.dumps({"error": exc.to_json()}, ensure_ascii=False))
            else:
                click.echo(f"error: {exc.message}", err=True)
        except click.ClickException as exc:
            code = exc.exit_code
            if as_json:
                click.echo(_error_json("usage" if code == USAGE else "bad_input", exc.format_message()))
            else:
                exc.show()
        except click.Abort:
            click.echo("aborted", err=True)
            code = 1
        except Exception as exc:  # a bug of ours: one line, the traceback on request
            if os.environ.get("GONGWEN_DEBUG"):
                raise
            code = INTERNAL
            message = f"internal error: {type(exc).__name__}: {exc} (set GONGWEN_DEBUG=1 for the traceback)"
            click.echo(_error_json("internal", message) if as_json else f"error: {message}",
                       err=not as_json)
        if standalone_mode:
            sys.exit(code)
        return code


def _prompt_passphrase(login: str) -> str:
    return str(click.prompt(f"passphrase for the key of {login}", hide_input=True, err=True))


def parse_sets(values: Any) -> list[tuple[str, str]]:
    """--set KEY=VALUE options as (key, value) pairs."""
    pairs = []
    for text in values:
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            raise click.UsageError(f"--set needs KEY=VALUE, got {text!r}")
        pairs.append((key.strip(), value))
    return pairs
