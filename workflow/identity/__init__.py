"""Who acts: personal key pairs (Ed25519 in OpenSSH format, the way git signs commits with SSH
keys), the user's own key folder, signing an event's hash and checking a signature. The bottom
layer beside definition/ and store/: it imports nothing of gongwen but errors."""

from workflow._exports import lazy_exports

__all__ = ["PublicKey", "Signer", "KeyRing", "parse_public_line", "verify_signature", "event_message"]
__getattr__, __dir__ = lazy_exports(__name__, {
    "PublicKey": "keys",
    "Signer": "keys",
    "parse_public_line": "keys",
    "verify_signature": "keys",
    "event_message": "keys",
    "KeyRing": "keyring",
})
