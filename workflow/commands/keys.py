"""`gongwen key`: a user's own key pair, made and kept on their own account."""

from __future__ import annotations

import click

from workflow.commands.app import App
from workflow.i18n import say


@click.group()
def key() -> None:
    """Your personal signing key (Ed25519, OpenSSH format), kept in your own config folder."""


@key.command("new")
@click.option("--login", metavar="LOGIN", help="The gongwen login the key acts for (default: the acting user).")
@click.option("--ssh", "ssh_key", metavar="FILE", type=click.Path(dir_okay=False),
              help="Use an existing OpenSSH Ed25519 key (e.g. ~/.ssh/id_ed25519) instead of making one.")
@click.option("--passphrase/--no-passphrase", default=False,
              help="Protect the new key with a passphrase (asked twice; GONGWEN_PASSPHRASE in scripts).")
@click.option("--force", is_flag=True, help="Replace the key this account already holds for LOGIN.")
@click.pass_obj
def key_new(app: App, login: str | None, ssh_key: str | None, passphrase: bool, force: bool) -> None:
    """Make a key pair and print the public key line to hand to an admin."""
    import os
    from pathlib import Path

    login = login or app.login
    keys = app.keys
    if ssh_key:
        public = keys.use_existing(login, Path(ssh_key))
    else:
        secret = os.environ.get("GONGWEN_PASSPHRASE") if passphrase else None
        if passphrase and not secret:
            secret = click.prompt("passphrase for the new key", hide_input=True, confirmation_prompt=True, err=True)
        public = keys.create(login, secret, overwrite=force)
    app.emit({"login": login, "key": public.line, "fingerprint": public.fingerprint},
             f"{public.line}\n" + say("fingerprint {fingerprint}\nhand this line to an admin: gongwen users key "
                                      "{login} '{line}'", fingerprint=public.fingerprint, login=login,
                                      line=public.line))


@key.command("show")
@click.option("--login", metavar="LOGIN", help="Whose key (default: the acting user).")
@click.pass_obj
def key_show(app: App, login: str | None) -> None:
    """Print the public key line of the key this account holds (one line, for `--key "$(…)"`)."""
    login = login or app.login
    public = app.keys.signer(login).public
    app.emit({"login": login, "key": public.line, "fingerprint": public.fingerprint}, public.line)
