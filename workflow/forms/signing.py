"""How a decision on a returned form is authenticated, and `gongwen sign`.

Three ways, recorded in the event's form data as `auth`:
- "signed": the form carries the signer's signature (`gongwen sign FORM.docx` on their own
  account: forms/sign.py), over the form, the decision, the 批示, the signer and the date; an office user
  applies it and the event keeps the signature, which `audit verify` checks with the signer's
  key registered at that moment.
- "self": the signer applies the form themself; the event is signed by their own key.
- "entered" (代录): an office user enters a form the signer signed on paper or in Word without a
  key. The one who enters must hold the office role and must not be the item's drafter or an
  earlier actor on it; a transition with `signature: required` refuses it.

A Word or WPS digital signature (an OOXML package signature in `_xmlsignatures/`) is noted but
not verified: no maintained Python library verifies OPC package signatures (their relationship
transforms); package_signature() is the seam where one would."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from workflow.documents import docprops
from workflow.engine.guards import Actor
from workflow.errors import Refused
from workflow.identity import formsig
from workflow.store.orm import UserKey

if TYPE_CHECKING:
    from workflow.forms.ingest import Examined

OFFICE = "office"


@dataclass
class Auth:
    kind: str  # signed, self or entered
    record: dict[str, Any] = field(default_factory=dict)  # what the event's form data adds

    def entered_by(self, clerk: str, signer: str) -> str | None:
        """Who signs the event on the signer's behalf (None: the signer themself)."""
        return None if clerk == signer else clerk


def package_signature(blob: bytes) -> str | None:
    """A Word/WPS digital signature's presence (not verified: see the module's note)."""
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        return "present, not verified" if any(n.startswith("_xmlsignatures/") for n in archive.namelist()) else None


def statement_of(seen: Examined) -> dict[str, Any]:
    return formsig.statement(seen.token.form_id, seen.token.revision, seen.token.content, seen.transition,
                             seen.option, seen.opinion, seen.login, seen.signed_on)


def authenticate(session: Session, blob: bytes, seen: Examined, clerk: Actor) -> Auth:
    """How this decision is authenticated, or a refusal: who may apply the form, and the
    signature it carries, checked."""
    signer = seen.login
    if clerk.login != signer and OFFICE not in clerk.roles:
        raise Refused(f"{clerk.login} may not apply approval forms: that needs the office role (办公室), or the "
                      "signer themself", reason="role_missing")
    value = docprops.read(blob).get(formsig.PROPERTY)
    extra: dict[str, Any] = {}
    if value is not None:
        return Auth("signed" if clerk.login != signer else "self", {"signature": _checked(session, value, seen)})
    if clerk.login == signer:
        return Auth("self")
    marked = package_signature(blob)
    if marked:
        extra["package_signature"] = marked
    if seen.signature_required:
        raise Refused(f"{seen.transition_title} needs the signer's own signature: {seen.login} signs the form with "
                      "`gongwen sign FORM.docx` on their own account (a Word digital signature is not verified "
                      "yet), or applies it themself", reason="signature_required")
    earlier = seen.earlier_actors | {seen.creator}
    if clerk.login in earlier:
        raise Refused(f"{clerk.login} drafted or acted on {seen.key} before, so may not enter its decision on "
                      f"{signer}'s behalf (代录): another office user, or the signer, applies it",
                      reason="separation_of_duties")
    return Auth("entered", extra)


def _checked(session: Session, value: str, seen: Examined) -> dict[str, Any]:
    parsed = formsig.parse(value)
    if parsed is None:
        raise Refused("the form's signature property is damaged: an altered form", reason="altered")
    fingerprint, signature = parsed
    key = session.get(UserKey, fingerprint)
    if key is None:
        raise Refused(f"the form is signed with a key no one registered ({fingerprint})", reason="unknown_key")
    if key.login != seen.login:
        raise Refused(f"the form names {seen.login} as signer but is signed with the key of {key.login}",
                      reason="signer_mismatch")
    if key.revoked_event is not None:
        raise Refused(f"the form is signed with {key.login}'s key {fingerprint}, which was revoked",
                      reason="key_revoked")
    signed = statement_of(seen)
    from workflow.identity.keys import parse_public_line

    if not formsig.verifies(parse_public_line(key.public_key).raw, signed, signature):
        raise Refused(f"{key.login}'s signature does not match this form's decision, 批示, date or 校验码: it was "
                      "changed after signing, or the signature belongs to another form", reason="altered")
    return {"key": fingerprint, "sig": signature, "statement": signed}
