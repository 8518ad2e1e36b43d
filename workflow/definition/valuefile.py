"""Field values from a file (`gongwen new --from FILE`): a .yaml or .json mapping of field name to
value, read through workflow.inputs (a regular file of bounded size, never a FIFO or a device)
and parsed with the checks of yamlsrc (plain types, text keys, a budget for aliases), nested at
most inputs.MAX_DEPTH deep. Every refusal is one line, `file:line: problem` where there is a line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from workflow import inputs
from workflow.definition import yamlsrc
from workflow.definition.fieldspecs import plain
from workflow.errors import BadInput

SUFFIXES = {".json": "json", ".yaml": "yaml", ".yml": "yaml"}  # as the messages name them


def read_values(source: str | Path) -> dict[str, Any]:
    """The mapping of field names to values in a .yaml or .json file."""
    import yaml

    path = Path(source)
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise BadInput(f"{path}: --from takes a .yaml or .json file")
    text = inputs.read_text_file(path)
    try:
        data = json.loads(text) if kind == "json" else yamlsrc.load_plain(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"{path}:{exc.lineno}: not valid json: {exc.msg}") from None
    except yamlsrc.YamlProblem as exc:
        raise BadInput(f"{path}:{exc.line}: {exc.problem}") from None
    except yamlsrc.DuplicateKey as exc:
        raise BadInput(f"{path}:{exc.line}: duplicate key {exc.key!r}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise BadInput(f"{path}:{mark.line + 1 if mark else 1}: not valid yaml: {exc.problem or exc.context}") from None
    except (yaml.YAMLError, ValueError) as exc:
        raise BadInput(f"{path}:1: not valid {kind}: {exc}".splitlines()[0]) from None
    except RecursionError:
        raise BadInput(f"{path}: nested more than {inputs.MAX_DEPTH} levels deep") from None
    if not isinstance(data, dict):
        raise BadInput(f"{path}: must hold a mapping of field names to values")
    inputs.check_depth(data, str(path))
    return dict(plain(data))
