"""What a report folder holds a run of (model, prompt, benchmarks), so a resumed run can be told from another one.

Rerunning the same command resumes from the cache; rerunning with another model, prompt or set of
benchmarks into the same ``--out`` would mix two runs' reports and generations in one folder. So the
first run records its identity in ``<out>/run.json`` (after every input check, before the first
request), and a later run into that folder must match it; a mismatch is one sentence naming the
field, both values and the fix. A folder without ``run.json`` (an older run) falls back to the model
and prompt version its ``summary.json`` records.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from eval.errors import EvalError
from infra.atomic_files import write_text_atomic
from infra.user_json import read_json_file

IDENTITY_FILE = "run.json"
FORMAT = "eval-run-identity-v1"
# field -> (what it is called in a message, the flags that choose it)
_FIELDS: dict[str, tuple[str, str]] = {
    "model": ("judge", "--ckpt/--base-url/--model/--model-name (or --same-judge-as URL when both endpoints serve one "
                       "checkpoint under one name)"),
    "prompt": ("prompt", "--variant/--prompt-template"),
    "prompt_sha256": ("prompt text (sha256)", "--variant/--prompt-template"),
    "prompt_version": ("prompt version", "--variant/--prompt-template"),
    "benchmarks": ("benchmarks", "--benchmarks"),
}


@dataclass(frozen=True)
class RunIdentity:
    """The settings a report folder's results depend on and that a resume must not change."""

    model: str
    prompt: str
    prompt_sha256: str
    prompt_version: str
    benchmarks: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, **asdict(self), "benchmarks": list(self.benchmarks)}


def identity_of(model_id: str, template: Any, benchmarks: Sequence[str]) -> RunIdentity:
    """The identity of a run judging ``benchmarks`` with ``model_id`` and the prompt ``template``."""
    return RunIdentity(model_id, template.name, template.sha256, template.version, tuple(benchmarks))


def check_identity(out: Path, identity: RunIdentity) -> None:
    """Refuse an ``--out`` that holds a run of another model, prompt or benchmark set (checked before any request)."""
    recorded = _recorded(out)
    mine = identity.to_dict()
    for field, (what, flags) in _FIELDS.items():
        if field in recorded and recorded[field] != mine[field]:
            raise EvalError(f"--out {os.fspath(out)!r} holds a run with {what} {_shown(recorded[field])}, not "
                            f"{_shown(mine[field])}; pass a different --out, or the same {flags} to resume that run.")


def record_identity(out: Path, identity: RunIdentity) -> None:
    """Write ``<out>/run.json`` (atomically) once the run's inputs are checked, before the first request."""
    path = out / IDENTITY_FILE
    text = json.dumps(identity.to_dict(), indent=2, ensure_ascii=False) + "\n"
    if not path.is_file() or path.read_text(encoding="utf-8", errors="replace") != text:
        write_text_atomic(path, text)


def _recorded(out: Path) -> dict[str, Any]:
    """The identity fields an earlier run left in ``out`` (run.json, else what summary.json says)."""
    identity = _json_object(out / IDENTITY_FILE)
    if identity.get("format") == FORMAT:
        return {k: v for k, v in identity.items() if k in _FIELDS}
    summary = _json_object(out / "summary.json")
    meta = summary.get("metadata") if isinstance(summary.get("metadata"), dict) else {}
    config = meta.get("config") if isinstance(meta.get("config"), dict) else {}
    prompt = config.get("prompt") if isinstance(config.get("prompt"), dict) else {}
    found = {"model": meta.get("model"), "prompt_version": meta.get("prompt_version"), "prompt": prompt.get("name"),
             "prompt_sha256": prompt.get("sha256")}
    recorded: dict[str, Any] = {k: v for k, v in found.items() if isinstance(v, str)}
    if isinstance(summary.get("benchmark"), str):  # one benchmark's report (run_all's combined one has none)
        recorded["benchmarks"] = [summary["benchmark"]]
    return recorded


def _json_object(path: Path) -> dict[str, Any]:
    """A JSON object file, or {} when it is missing or unreadable (a damaged file is not an identity)."""
    data = read_json_file(path, {})
    return data if isinstance(data, dict) else {}


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return repr(",".join(str(v) for v in value))
    text = str(value)
    return repr(text[:12] + "…" if len(text) == 64 else text)  # a sha256 is shown by its head
