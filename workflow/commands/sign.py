"""`gongwen sign`: a signer signs the decision on a filled-in approval form with their own key."""

from __future__ import annotations

from pathlib import Path

import click

from workflow.commands.app import App
from workflow.i18n import say


@click.command()
@click.argument("form", type=click.Path(dir_okay=False))
@click.option("-o", "--output", metavar="FILE", type=click.Path(dir_okay=False),
              help="Write the signed form here (default: sign the file in place).")
@click.pass_obj
def sign(app: App, form: str, output: str | None) -> None:
    """Sign the decision, 批示 and date a filled-in approval form shows, with your key; the
    office then applies the signed form with `gongwen ingest`."""
    from workflow.forms.sign import sign_file

    done = sign_file(app.engine, app.login, Path(form), Path(output) if output else None)
    app.emit(done.to_json(), say("signed {file}: {key} {decision} by {signer} (key {fingerprint}); hand it to the "
                                 "office to apply (gongwen ingest)", file=done.file, key=done.key,
                                 decision=done.decision, signer=done.signer, fingerprint=done.fingerprint))
