"""Where a user's private keys live, and loading the one that acts.

Private keys are in the user's own configuration folder, never in the workspace or the
database: `$GONGWEN_CONFIG_HOME`, else `$XDG_CONFIG_HOME/gongwen`, else `~/.config/gongwen`;
one file per login under `keys/` (OpenSSH format, mode 0600), or a `keys/<login>.ref` file that
names an existing key such as `~/.ssh/id_ed25519`. `--as` picks which of this account's keys
acts; it never lets one account speak for another.

A demo workspace (`gongwen demo`) keeps its users' keys inside itself, in `.demo-keys/`, so that
the rehearsal can act as every user from one account: they are marked as demo keys and are used
only in a folder that holds the demo marker."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

from workflow.errors import BadInput, Refused
from workflow.identity import keys
from workflow.inputs import read_regular_file

SAFE_LOGIN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
DEMO_MARKER = ".gongwen-demo"
DEMO_KEYS = ".demo-keys"
HOW_TO = ("run `gongwen key new --login {login}` on {login}'s own account and ask an admin to register "
          "the printed line with `gongwen users key {login} LINE`")


MAX_KEY_BYTES = 64 * 1024  # an OpenSSH private key file is a few hundred bytes


def not_authenticated(message: str, login: str) -> Refused:
    return Refused(message, reason="not_authenticated", login=login)


def config_home() -> Path:
    explicit = os.environ.get("GONGWEN_CONFIG_HOME")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base).expanduser() / "gongwen"


def check_login(login: str) -> str:
    if not SAFE_LOGIN.match(login or ""):
        raise BadInput(f"{login!r} is not a valid login: lower-case letters, digits, '.', '_' and '-' "
                       "(e.g. zhangwei)", reason="bad_login")
    return login


class KeyRing:
    """The private keys this account holds, by login. `passphrase(login)` is asked for an
    encrypted key when GONGWEN_PASSPHRASE is not set (the command line prompts on a terminal)."""

    def __init__(self, workspace_root: Path | None = None,
                 passphrase: Callable[[str], str | None] | None = None) -> None:
        self.folder = config_home() / "keys"
        demo = Path(workspace_root) if workspace_root else None
        self.demo_folder = demo / DEMO_KEYS if demo is not None and (demo / DEMO_MARKER).is_file() else None
        self.ask = passphrase
        self._loaded: dict[str, keys.Signer] = {}

    # -- finding and loading -----------------------------------------------------------------
    def path(self, login: str) -> Path | None:
        """The private key file that acts for `login` on this account, if any."""
        check_login(login)
        if self.demo_folder is not None:  # a rehearsal acts with its own keys only
            return self.demo_folder / login if (self.demo_folder / login).is_file() else None
        ref = self.folder / f"{login}.ref"
        if ref.is_file():
            return Path(ref.read_text(encoding="utf-8").strip()).expanduser()
        return self.folder / login if (self.folder / login).is_file() else None

    def signer(self, login: str) -> keys.Signer:
        """The loaded key of `login`; not_authenticated when this account holds none or it will
        not open."""
        if login in self._loaded:
            return self._loaded[login]
        path = self.path(login)
        if path is None:
            raise not_authenticated(f"no key of {login} on this account: " + HOW_TO.format(login=login), login)
        try:  # a regular file of a key's size: a FIFO or a device named by a .ref never blocks
            data = read_regular_file(path, MAX_KEY_BYTES, label=str(path))
        except BadInput as exc:
            raise not_authenticated(f"cannot read the key of {login}: {exc.message}", login) from None
        private = self._open(login, path, data)
        signer = keys.Signer.from_private(login, private, f"{login}@gongwen")
        self._loaded[login] = signer
        return signer

    def _open(self, login: str, path: Path, data: bytes) -> object:
        passphrase = os.environ.get("GONGWEN_PASSPHRASE") or None
        try:
            return keys.private_from_openssh(data, None)  # not encrypted
        except TypeError as exc:
            if "password" not in str(exc).lower():
                raise not_authenticated(f"the key of {login} ({path}) is not an Ed25519 key", login) from None
        except ValueError:
            raise not_authenticated(f"the key of {login} ({path}) is not a readable OpenSSH private key",
                                    login) from None
        if passphrase is None and self.ask is not None:
            passphrase = self.ask(login) or None
        if passphrase is None:
            raise not_authenticated(f"the key of {login} is protected by a passphrase: set GONGWEN_PASSPHRASE or "
                                    "run the command on a terminal", login)
        try:
            return keys.private_from_openssh(data, passphrase)
        except (TypeError, ValueError):
            raise not_authenticated(f"wrong passphrase for the key of {login} ({path})", login) from None

    # -- making keys -------------------------------------------------------------------------
    def create(self, login: str, passphrase: str | None = None, overwrite: bool = False,
               demo: bool = False) -> keys.PublicKey:
        """A new key pair for `login` in this account's folder (or the demo workspace's)."""
        check_login(login)
        folder = self.demo_folder if demo else self.folder
        if folder is None:
            raise BadInput("demo keys go only into a demo workspace")
        target = folder / login
        if (target.exists() or (self.folder / f"{login}.ref").exists()) and not overwrite:
            raise BadInput(f"{login} already has a key on this account ({target}); "
                           "`gongwen key show` prints its public line, --force replaces it", reason="key_exists")
        private = keys.generate_private()
        write_private(target, keys.private_to_openssh(private, passphrase))
        signer = keys.Signer.from_private(login, private, f"{login}@gongwen" + (" demo key" if demo else ""))
        (folder / f"{login}.pub").write_text(signer.public.line + "\n", encoding="utf-8")
        self._loaded[login] = signer
        return signer.public

    def use_existing(self, login: str, path: Path) -> keys.PublicKey:
        """Act as `login` with an existing OpenSSH Ed25519 key (e.g. ~/.ssh/id_ed25519), by reference."""
        check_login(login)
        path = Path(path).expanduser().resolve()
        try:  # checked before anything is written: a file that is no key leaves no reference behind
            data = read_regular_file(path, MAX_KEY_BYTES, label=str(path))
        except BadInput as exc:
            raise BadInput(exc.message, reason="bad_key") from None
        try:
            private = self._open(login, path, data)
        except Refused as exc:
            if "passphrase" in exc.message:
                raise
            raise BadInput(f"{path}: not an OpenSSH Ed25519 private key (give the private key file, not its "
                           ".pub)", reason="bad_key") from None
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        (self.folder / f"{login}.ref").write_text(str(path) + "\n", encoding="utf-8")
        signer = self._loaded[login] = keys.Signer.from_private(login, private, f"{login}@gongwen")
        return signer.public


def write_private(target: Path, data: bytes) -> None:
    """Write a private key with mode 0600 from the start (never readable by others)."""
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = target.with_name(target.name + ".new")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(temporary, target)
