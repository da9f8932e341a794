"""The README's voting, ranking, pointwise and leaderboard block runs as written and gives the numbers it states."""

from __future__ import annotations

import importlib
import json
import re
import shlex
from pathlib import Path

import pytest

from testkit import scaling_judges
from testkit.scaling_judges import SeededLoopbackJudge

README_URL = "http://127.0.0.1:8013/v1"


def demo_block(readme: str) -> str:
    (block,) = [b for b in re.findall(r"```bash\n(.*?)```", readme, re.DOTALL) if "testkit.scaling_judges" in b]
    return block


def commands(block: str, url: str) -> list[tuple[list[str], str]]:
    """(argv with the variables filled in, the line's comment) of every command the block runs in the foreground."""
    variables = {name: value for name, value in re.findall(r'^(\w+)="?(.*?)"?$', block, re.MULTILINE)}
    out = []
    for line in block.replace("\\\n", " ").splitlines():
        if not line.startswith("python") or line.partition("#")[0].rstrip().endswith("&"):
            continue
        for name, value in variables.items():
            # the judge's identity (part of every cache key, so of every per-request seed) stays the README's URL
            line = line.replace(f"${name}", value.replace(README_URL, f"{url} --same-judge-as {README_URL}"))
        comment = line.partition("#")[2]
        out.append((shlex.split(line, comments=True), comment))
    return out


def numbers(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"\d+\.\d\d", text)]


def test_readme_block_gives_the_stated_numbers(repo_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    block = demo_block((repo_root / "README.md").read_text())
    monkeypatch.chdir(tmp_path)  # the block's relative outputs land in tmp_path
    with SeededLoopbackJudge(tokens=100) as judge:
        for argv, comment in commands(block, judge.base_url):
            if argv[:2] == ["python", "-m"]:
                assert scaling_judges.main(argv[3:]) == 0
                continue
            module = importlib.import_module(f"eval.{Path(argv[1]).stem}")
            expected = 2 if "refused (exit 2)" in comment else 0
            assert module.main([*argv[2:], "--no-progress"] if "leaderboard" not in argv[1] else argv[2:]) == expected
            assert "different protocols (votes)" in capsys.readouterr().err or not expected
    demo = tmp_path / "outputs" / "eval" / "demo-scaling"
    points = json.loads((demo / "curve" / "scaling.json").read_text())["points"]
    both = re.search(r"both orders: (.*)", block).group(1)  # type: ignore[union-attr]
    one = re.search(r"one order: (.*)", block).group(1)  # type: ignore[union-attr]
    assert [round(100 * p["score"], 2) for p in points if p["orders"] == "both"] == numbers(both)[:4]
    assert [round(100 * p["score"], 2) for p in points if p["orders"] == "random"] == numbers(one)[:4]
    assert [p["calls"] for p in points[:4]] == [16, 32, 64, 128] and all(p["tokens"] == 100 * p["calls"]
                                                                         for p in points)
    for run, stated in (("votes4", "judgebench 56.25"), ("votes1", "judgebench 50.00")):
        assert stated in block
        score = json.loads((demo / run / "judgebench" / "summary.json").read_text())["score"]
        assert f"judgebench {100 * score:.2f}" == stated
    generated = json.loads((demo / "votes4" / "summary.json").read_text())["conventions"]["generated"]
    assert "0 generated" in block and generated == 0  # K=4 read the curve's samples
    assert (demo / "board" / "leaderboard.md").is_file() and (demo / "board" / "leaderboard.png").is_file()
    ranked = [json.loads((demo / name / "rank.json").read_text()) for name in ("knockout", "rr")]
    stated = re.findall(r"ranking accuracy (\d+\.\d\d) with (\d+) judge calls", block)
    assert [(f"{100 * r['accuracy']:.2f}", str(r["calls"])) for r in ranked] == stated
    result = json.loads((demo / "pointwise" / "pointwise.json").read_text())
    strict = result["modes"]["strict"]
    assert (f"pointwise strict {100 * strict['accuracy']:.2f}: {strict['wins']} wins, {strict['ties']} ties, "
            f"{strict['losses']} losses, {strict['failures']} failures; {result['calls']} judge calls") in block
