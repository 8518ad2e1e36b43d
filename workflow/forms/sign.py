"""`gongwen sign FORM.docx`: the signer signs the decision their filled-in form shows, with their
own key, into the form (the custom document property gongwen_signature, which Word, WPS and
LibreOffice keep when they re-save); an office user then applies it with `gongwen ingest`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workflow.documents import docprops
from workflow.engine import users
from workflow.errors import BadInput, Refused
from workflow.forms.ingest import check_file, examine
from workflow.forms.signing import statement_of
from workflow.identity import formsig

if TYPE_CHECKING:
    from workflow.engine.engine import Engine


@dataclass(frozen=True)
class SignResult:
    file: str
    key: str
    decision: str
    opinion: str
    signer: str
    fingerprint: str

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "key": self.key, "decision": self.decision, "opinion": self.opinion,
                "signer": self.signer, "fingerprint": self.fingerprint}


def sign_file(engine: Engine, login: str, path: Path, output: Path | None = None) -> SignResult:
    """Sign the decision a filled-in form shows, as `login` (with their key on this account), and
    write the signed copy (over the file, or to `output`)."""
    blob = check_file(path)
    signer = engine.keys.signer(login)  # before anything: no key, no signature
    with engine.db.read() as session:
        users.authenticate(session, login, signer)
        seen = examine(engine, session, blob, login)
    if seen.login != login:
        raise Refused(f"the form names {seen.login} as signer: only they can sign it", reason="signer_mismatch")
    signed = docprops.set_property(blob, formsig.PROPERTY, formsig.sign(signer, statement_of(seen)))
    target = output or path
    temporary = target.with_name(f".{target.name}.signing")
    try:
        temporary.write_bytes(signed)
        os.replace(temporary, target)  # the whole signed file or the unsigned one, never half
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise BadInput(f"cannot write {target}: {exc.strerror or exc}", reason="unwritable") from None
    return SignResult(str(target), seen.key, seen.option, seen.opinion, login, signer.fingerprint)
