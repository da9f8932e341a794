"""Issue 21 item 8: ``build_parquet.py --adversarial FRACTION`` adds seeded, counted defence pairs.

Each defence pair follows its source pair through cleaning, decontamination, the length filter and the
split (one conversation never in two splits), keeps the chosen answer (the label: chosen must win),
and its losing side never carries a text the robustness suite scores.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from data_prep.build_parquet import cli
from data_prep.robustness.defence import KINDS
from data_prep.robustness.library import DEFENCE, EVAL, LIBRARY_VERSION
from infra.run_metadata import RunMetadata

N = 60


@pytest.fixture
def pairs(tmp_path: Path) -> Path:
    path = tmp_path / "pairs.jsonl"
    rows = [{"prompt": f"Question number {i} about topic {i * 7}?",
             "chosen": f"A careful answer to question {i}. It gives the reason and the result {i * 3}.",
             "rejected": f"Not sure about {i}."} for i in range(N)]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def _build(pairs: Path, out: Path, *flags: str) -> RunMetadata:
    assert cli(["--inputs", f"synthetic={pairs}", "--variant", "instruct", "--out", str(out), "--val-size", "0.2",
                "--no-progress", *flags]) == 0
    return RunMetadata.read(out / "instruct" / "manifest.json")


def _strings(value: object) -> list[str]:
    """Every string inside a parquet row (prompt messages, extra_info ...)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _texts(out: Path) -> str:
    tables = [pq.read_table(out / "instruct" / f"{split}.parquet") for split in ("train", "val")]
    return "\n".join(s for table in tables for row in table.to_pylist() for s in _strings(row))


def test_defence_pairs_are_counted_in_the_manifest_and_written(pairs: Path, tmp_path: Path) -> None:
    meta = _build(pairs, tmp_path / "out", "--adversarial", "0.5", "--seed", "3")
    added = meta.config["adversarial"]
    assert added["library"] == LIBRARY_VERSION and added["fraction"] == 0.5 and added["seed"] == 3
    assert set(added["pairs"]) == set(KINDS) and 0 < added["total"] == sum(added["pairs"].values()) < N
    rows = sum(sum(meta.counts["rows"][split].values()) for split in ("train", "val"))
    assert rows == N + added["total"]  # nothing dropped here: every defence pair is a row
    assert meta.counts["input_pairs"]["synthetic"] == N + added["total"]  # counted as read rows of their source
    again = _build(pairs, tmp_path / "again", "--adversarial", "0.5", "--seed", "3")
    assert again.config["adversarial"] == added  # seeded
    assert _build(pairs, tmp_path / "none").config["adversarial"] is None  # off by default


def test_no_row_carries_an_eval_probe_text(pairs: Path, tmp_path: Path) -> None:
    _build(pairs, tmp_path / "out", "--adversarial", "1")
    written = _texts(tmp_path / "out")
    families = ("authority", "judge_instruction", "reflection")  # no markup: neutralisation leaves them verbatim
    defence = [t.strip() for family in families for t in DEFENCE.injections[family]]
    assert any(text in written for text in defence)  # the held-apart part is what training sees
    assert not any(t.strip() in written for family in families for t in EVAL.injections[family])
    assert not any(key in written for key in ("Thought process:", "Let's solve this step by step.", "Lösungsweg:"))


def test_a_bad_fraction_is_one_line(pairs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli(["--inputs", str(pairs), "--out", str(tmp_path / "o"), "--adversarial", "2"])
    err = capsys.readouterr().err
    assert code == 2 and "--adversarial" in err and len(err.strip().splitlines()) == 1
