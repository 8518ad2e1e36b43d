"""LibreOffice (Debian's package) as a .docx -> PDF converter for previews and tests.

One `soffice --headless` call converts many files; each call gets its own throw-away profile
(-env:UserInstallation) so parallel calls and a user's running LibreOffice do not collide. The 公文 font
names are mapped onto Simplified-Chinese faces through fontconfig (fonts.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from workflow.documents.fonts import fontconfig_file
from workflow.errors import BadInput

MISSING = "--pdf needs LibreOffice (soffice), which is not installed: apt-get install libreoffice-writer"
TIMEOUT = 300  # seconds for one soffice call
_KNOWN = ("/usr/bin/soffice", "/usr/lib/libreoffice/program/soffice")
# keep the blank pages LibreOffice inserts for a section that starts on an even page (the 版记's, so
# that it lands on an even page when the PDF is printed two-sided); headless export drops them
PDF_FILTER = 'pdf:writer_pdf_Export:{"IsSkipEmptyPages":{"type":"boolean","value":"false"}}'


def find_soffice() -> str | None:
    """The soffice executable: `soffice` or `libreoffice` on PATH, else Debian's usual places."""
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    return next((path for path in _KNOWN if Path(path).is_file()), None)


def soffice_environment() -> dict[str, str]:
    """The environment for soffice: ours, with a fontconfig file that maps the 公文 font names onto
    Simplified-Chinese faces (workflow/documents/fonts.py) when Noto CJK is installed."""
    env = dict(os.environ)
    config = fontconfig_file()
    if config is not None:
        env["FONTCONFIG_FILE"] = str(config)
    return env


def convert_to_pdf(files: list[Path], outdir: Path, timeout: float = TIMEOUT) -> list[Path]:
    """Convert .docx files to PDF in outdir (one soffice call); returns the PDFs in files' order."""
    files = [Path(f) for f in files]
    if not files:
        return []
    soffice = find_soffice()
    if soffice is None:
        raise BadInput(MISSING)
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise BadInput(f"cannot convert to PDF, no such file: {missing[0]}")
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    expected = [outdir / (f.stem + ".pdf") for f in files]
    if len(set(expected)) != len(expected):
        raise BadInput("cannot convert to PDF: two files have the same name; convert them separately")
    for pdf in expected:
        pdf.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="gongwen-soffice-") as profile:
        command = [soffice, f"-env:UserInstallation={Path(profile).as_uri()}", "--headless", "--norestore",
                   "--nologo", "--nodefault", "--convert-to", PDF_FILTER, "--outdir", str(outdir),
                   *(str(f.resolve()) for f in files)]
        try:
            done = subprocess.run(command, capture_output=True, text=True, errors="replace",
                                  timeout=timeout, stdin=subprocess.DEVNULL, env=soffice_environment())
        except subprocess.TimeoutExpired:
            raise BadInput(f"LibreOffice did not finish converting {len(files)} file(s) to PDF "
                           f"within {timeout:g} s") from None
        except OSError as exc:
            raise BadInput(f"LibreOffice ({soffice}) could not be started: {exc}") from None
    failed = [pdf for pdf in expected if not pdf.is_file() or pdf.stat().st_size == 0]
    if done.returncode != 0 or failed:
        detail = " ".join((done.stderr or done.stdout or "").split())[-300:]
        what = f"no PDF for {failed[0].stem}.docx" if failed else f"exit code {done.returncode}"
        raise BadInput(f"LibreOffice could not convert to PDF ({what}" + (f": {detail})" if detail else ")"))
    return expected
