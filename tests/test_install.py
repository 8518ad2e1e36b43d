"""The README's first command, run as written on a copy of the checkout: `pip install .` into a
fresh venv, then `gongwen demo`. Slow (it installs the project), but it is the user's first touch."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BEYOND_PUBLISH = {"publish", "closed", "archived"}  # publish, or the states after it in the shipped workflows


def readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Two commands", 1)[1]
    return re.findall(r"```bash\n(.+?)\n```", section, flags=re.S)[:2]


def copy_checkout(target: Path) -> None:
    """Copy what a fresh clone would hold: tracked files plus new, not ignored ones."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=REPO, capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_symlink():  # workflow/_shipped/definitions -> ../../definitions, as git checks it out
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            (target / name).symlink_to(os.readlink(source))
        elif source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


@pytest.mark.slow
def test_readme_first_command_installs_and_runs_the_demo(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git is not installed: cannot list the checkout's files")
    first, second = readme_commands()
    assert "pip install ." in first and first.rstrip().endswith("gongwen demo")
    assert "pytest" in second
    clone = tmp_path / "clone"
    copy_checkout(clone)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "GONGWEN_HOME", "GONGWEN_USER")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if not p.startswith(sys.prefix))
    run = subprocess.run(["bash", "-c", first], cwd=clone, env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    gongwen = clone / ".venv" / "bin" / "gongwen"
    # Not an editable install: cli.py lives in site-packages, and so do the shipped definitions and
    # templates, as package data in workflow/_shipped/ (real files there, symlinks in the checkout).
    located = subprocess.run([str(clone / ".venv" / "bin" / "python"), "-c", "import cli; print(cli.__file__)"],
                             cwd=tmp_path, capture_output=True, text=True, env=env)
    assert "site-packages" in located.stdout
    shipped = subprocess.run([str(clone / ".venv" / "bin" / "python"), "-c",
                              "from workflow.store.workspace import shipped_dir\n"
                              "for name in ('definitions', 'templates_docx'): print(shipped_dir(name))"],
                             cwd=tmp_path, capture_output=True, text=True, env=env)
    assert shipped.returncode == 0, shipped.stderr
    folders = [Path(line) for line in shipped.stdout.splitlines()]
    assert [(f.parent.parent.name, f.parent.parent.parent.name) for f in folders] == [("workflow", "site-packages")] * 2
    assert not any(f.is_symlink() for f in folders)
    assert sorted(p.name for p in folders[0].iterdir()) == ["README.md", "clean_school.yaml", "inspection.yaml",
                                                           "plan.yaml"]
    docx = sorted(p.relative_to(folders[1]).as_posix() for p in folders[1].rglob("*") if p.is_file())
    assert docx == sorted(p.relative_to(REPO / "templates_docx").as_posix()
                          for p in (REPO / "templates_docx").glob("*/*.docx"))
    assert (folders[0].parent.parent / "py.typed").is_file()
    assert not (clone / ".venv" / "share" / "gongwen").exists()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    listed = subprocess.run([str(gongwen), "--json", "workflows", "list"], cwd=elsewhere,
                            capture_output=True, text=True, env=env)
    assert listed.returncode == 0, listed.stderr
    assert {w["id"] for w in json.loads(listed.stdout)["workflows"]} == {"plan", "inspection", "clean_school"}
    items = subprocess.run([str(gongwen), "--json", "--home", str(clone / "gongwen-demo"), "--as", "zhaomin",
                            "list"], cwd=elsewhere, capture_output=True, text=True, env=env)
    assert items.returncode == 0, items.stderr
    states = {i["workflow"]: i["state"] for i in json.loads(items.stdout)["items"]}
    assert set(states) == {"plan", "inspection", "clean_school"}
    assert set(states.values()) <= BEYOND_PUBLISH, states
