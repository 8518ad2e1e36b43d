"""The README's "Using it" walk-through, run as written: one bash script, from a fresh folder,
with the installed `gongwen` and a key folder of its own. Every command must succeed, and the
history it leaves must verify."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest
from helpers import REPO, gongwen_command


def walkthrough() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Using it", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", section, flags=re.S)[0]


def test_the_readme_walkthrough_runs_as_written(tmp_path):
    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    bindir = tmp_path / "bin"  # `gongwen` on the PATH, as after `pip install`
    bindir.mkdir()
    command = gongwen_command()
    (bindir / "gongwen").write_text("#!/bin/sh\nexec " + " ".join(f"'{part}'" for part in command) + ' "$@"\n')
    (bindir / "gongwen").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GONGWEN_")}  # the real clock, too
    env.update(GONGWEN_CONFIG_HOME=str(tmp_path / "account"), PATH=f"{bindir}{os.pathsep}{env.get('PATH', '')}")
    if command[0] == sys.executable:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    script = "set -euo pipefail\n" + walkthrough()
    run = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                         encoding="utf-8", timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    bureau = tmp_path / "bureau"
    shown = subprocess.run(["bash", "-c", "gongwen --json --as zhaomin show JH-$(date +%Y)-0001"], cwd=bureau,
                           env=env, capture_output=True, text=True, encoding="utf-8", timeout=120)
    view = json.loads(shown.stdout)
    assert view["state"] == "archived" and view["numbers"]["doc_number"].startswith("某教发〔")
    assert [(e["transition"], e["signed_by"]) for e in view["history"]] == [
        ("create", "zhangwei"), ("submit", "zhangwei"), ("dept_approve", "huangli"), ("return", "lina"),
        ("submit", "zhangwei"), ("dept_approve", "huangli"), ("to_countersign", "lina"), ("countersign", "sunhua"),
        ("countersigned", "sunhua"), ("approve", "wangqiang"), ("register", "chenjing"), ("print", "chenjing"),
        ("publish", "chenjing"), ("archive", "chenjing")]
    assert {e["signature"] for e in view["history"]} == {"valid"}
    assert "signed by wangqiang: signature verifies" in run.stdout
    assert re.search(r"^OK: \d+ events \(\d+ signatures checked\)", run.stdout, flags=re.M)
    assert sorted(p.name for p in (bureau / "out").iterdir())  # the exported documents
