"""Key pairs and signatures.

A public key travels as one OpenSSH line, `ssh-ed25519 AAAA… comment`, whose first word names
the algorithm; a private key is an OpenSSH private key file, optionally encrypted with a
passphrase (as `ssh-keygen` writes them, so `~/.ssh/id_ed25519` can serve). Only Ed25519 is
implemented; ALGORITHMS leaves room for another (SM2 under GM/T rules, for a 密评), whose key
line would name its own algorithm.

An event is signed over its chain hash, which covers its canonical body and the hash before it:
the signed message is EVENT_DOMAIN followed by the hex hash. Signatures are checked with
libsodium (PyNaCl) when it is installed, about four times faster than OpenSSL's Ed25519 on the
machines measured, else with cryptography."""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from dataclasses import dataclass
from typing import Any

from workflow.errors import BadInput

EVENT_DOMAIN = b"gongwen-event-v1\n"
ED25519 = "ssh-ed25519"
ALGORITHMS = (ED25519,)


def event_message(event_hash: str | bytes) -> bytes:
    """What an event's signature covers: the domain and the event's chain hash (hex)."""
    return EVENT_DOMAIN + (event_hash if isinstance(event_hash, bytes) else event_hash.encode())


@dataclass(frozen=True)
class PublicKey:
    algorithm: str
    raw: bytes  # the 32-byte Ed25519 key
    blob: bytes  # the SSH wire form (what the line's base64 holds)
    comment: str = ""

    @property
    def fingerprint(self) -> str:
        """OpenSSH's form: SHA256: and the unpadded base64 of the blob's sha256."""
        return "SHA256:" + base64.b64encode(hashlib.sha256(self.blob).digest()).decode().rstrip("=")

    @property
    def line(self) -> str:
        return f"{self.algorithm} {base64.b64encode(self.blob).decode()}" + (f" {self.comment}" if self.comment else "")


def _ssh_string(data: bytes, at: int) -> tuple[bytes, int]:
    if at + 4 > len(data):
        raise ValueError("truncated")
    (size,) = struct.unpack(">I", data[at:at + 4])
    end = at + 4 + size
    if end > len(data):
        raise ValueError("truncated")
    return data[at + 4:end], end


def parse_public_line(line: str) -> PublicKey:
    """A public key line (`ssh-ed25519 AAAA… comment`); BadInput naming what is wrong."""
    words = line.strip().split(None, 2)
    if len(words) < 2:
        raise BadInput("a public key line looks like `ssh-ed25519 AAAA… comment` "
                       "(print yours with `gongwen key show`)", reason="bad_key")
    algorithm, encoded = words[0], words[1]
    if algorithm not in ALGORITHMS:
        raise BadInput(f"unsupported key algorithm {algorithm!r} (supported: {', '.join(ALGORITHMS)})",
                       reason="bad_key")
    try:
        blob = base64.b64decode(encoded, validate=True)
        name, at = _ssh_string(blob, 0)
        raw, at = _ssh_string(blob, at)
    except (binascii.Error, ValueError):
        raise BadInput("the public key line's key part is not valid base64 SSH data", reason="bad_key") from None
    if name.decode(errors="replace") != algorithm or len(raw) != 32 or at != len(blob):
        raise BadInput(f"the public key line does not hold an {algorithm} key", reason="bad_key")
    return PublicKey(algorithm, raw, blob, words[2].strip() if len(words) > 2 else "")


def public_from_raw(raw: bytes, comment: str = "") -> PublicKey:
    name = ED25519.encode()
    blob = struct.pack(">I", len(name)) + name + struct.pack(">I", len(raw)) + raw
    return PublicKey(ED25519, raw, blob, comment)


class Signer:
    """A private key held in memory for one command: signs event hashes."""

    def __init__(self, login: str, private: Any, public: PublicKey):
        self.login = login
        self._private = private  # cryptography's Ed25519PrivateKey
        self.public = public

    @property
    def fingerprint(self) -> str:
        return self.public.fingerprint

    def sign(self, message: bytes) -> bytes:
        signature: bytes = self._private.sign(message)
        return signature

    def sign_event(self, event_hash: str) -> str:
        """The base64 signature stored with an event."""
        return base64.b64encode(self.sign(event_message(event_hash))).decode()

    @classmethod
    def from_private(cls, login: str, private: Any, comment: str = "") -> Signer:
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return cls(login, private, public_from_raw(raw, comment))


def generate_private() -> Any:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.generate()


def private_to_openssh(private: Any, passphrase: str | None) -> bytes:
    from cryptography.hazmat.primitives import serialization

    encryption = (serialization.BestAvailableEncryption(passphrase.encode()) if passphrase
                  else serialization.NoEncryption())
    data: bytes = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, encryption)
    return data


def private_from_openssh(data: bytes, passphrase: str | None) -> Any:
    """Raises ValueError on a wrong or missing passphrase, TypeError on a key of another kind."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_ssh_private_key

    key = load_ssh_private_key(data, passphrase.encode() if passphrase else None)
    if not isinstance(key, Ed25519PrivateKey):
        raise TypeError("not an Ed25519 key")
    return key


Registered = dict[str, tuple[str, bytes]]  # fingerprint -> (login, raw public key)


def signature_status(event_hash: str, signature: str | None, signer: str | None,
                     keys: Registered) -> tuple[str | None, str]:
    """(who signed, valid / invalid / unknown_key / unsigned) for an event, by the registered keys.
    What `history`, `show` and the report print; `audit verify` checks more (the key's validity then)."""
    if not signature or not signer:
        return None, "unsigned"
    found = keys.get(signer)
    if found is None:
        return None, "unknown_key"
    login, raw = found
    return login, "valid" if verify_signature(raw, event_message(event_hash), signature) else "invalid"


def verify_signature(public_raw: bytes, message: bytes, signature_b64: str | bytes) -> bool:
    """True when `signature_b64` is a valid signature of `message` by the Ed25519 key `public_raw`."""
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError):
        return False
    if len(signature) != 64:
        return False
    return _verify(public_raw, message, signature)


def _verify_nacl(public_raw: bytes, message: bytes, signature: bytes) -> bool:
    try:
        _nacl_open(signature + message, public_raw)  # libsodium's crypto_sign_open: signature, then message
        return True
    except Exception:  # nacl.exceptions.BadSignatureError, or a malformed key
        return False


def _verify_cryptography(public_raw: bytes, message: bytes, signature: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        Ed25519PublicKey.from_public_bytes(public_raw).verify(signature, message)
        return True
    except (InvalidSignature, ValueError):
        return False


try:
    from nacl.bindings import crypto_sign_open as _nacl_open

    _verify = _verify_nacl
except ImportError:  # pragma: no cover - PyNaCl is a dependency; cryptography still works without it
    _verify = _verify_cryptography
