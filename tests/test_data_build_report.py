"""What a build says about itself: empty variants, length-filter drops, prompt-length statistics, the tokenizer.

Issue 12 items 11 and 12. The tiny test tokenizer makes the instruct prompt of every sample pair
longer (1,335-1,850 tokens) than the reasoning prompt (385-944 tokens), and the multi-turn sample pairs
are the longest, so a limit between the two splits the variants.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from data_prep.adapters import InputSpec
from data_prep.build_parquet import SAMPLES, summary_text
from data_prep.errors import BuildError
from data_prep.pipeline import BuildOptions, build
from data_prep.prompts import builtin_template
from infra.run_metadata import RunMetadata
from testkit.verl_datasets import longest_prompt, sample_pairs

REPO = Path(__file__).resolve().parents[1]


def _options(out: Path, tokenizer: Path | str | None = None, limit: int | None = None, **kw) -> BuildOptions:
    base = {"inputs": (InputSpec(str(SAMPLES)),), "out": out, "val_size": 0.2, "seed": 0, "progress": False,
            "tokenizer": str(tokenizer) if tokenizer else None, "max_prompt_length": limit}
    return BuildOptions(**(base | kw))


@pytest.fixture(scope="module")
def lengths(tiny_tokenizer) -> dict[str, list[tuple[int, bool]]]:
    """Per variant: (longest A/B prompt, multi-turn) of every sample pair."""
    pairs = sample_pairs()
    return {v: [(longest_prompt(tiny_tokenizer, p, builtin_template(v)), p.is_multi_turn) for p in pairs]
            for v in ("instruct", "reasoning")}


def test_the_limit_sits_between_the_variants(lengths) -> None:
    # the premise of the tests below: every instruct prompt is longer than every reasoning prompt
    assert min(n for n, _ in lengths["instruct"]) > 1000 > max(n for n, _ in lengths["reasoning"])


def test_an_empty_variant_is_named_with_the_reason_and_the_variant_that_builds(tmp_path, tiny_model_dir,
                                                                               lengths) -> None:
    out = tmp_path / "data"
    with pytest.raises(BuildError) as caught:
        build(_options(out, tiny_model_dir, 1000))
    message = str(caught.value)
    assert "the instruct train split is empty after the length filter" in message
    assert "over --max-prompt-length 1000 tokens" in message
    shortest = int(re.search(r"the shortest has (\d+)", message).group(1))
    assert shortest >= min(n for n, _ in lengths["instruct"])
    assert "--variant reasoning" in message and "reasoning train" not in message
    assert "\n" not in message and not out.exists()  # one sentence; nothing written, not even the folder
    built = build(_options(out, tiny_model_dir, 1000, variants=("reasoning",)))  # the way out it names
    assert built.variants["reasoning"].rows["train"] > 0


def test_an_empty_split_in_every_variant_names_the_knob(tmp_path: Path) -> None:
    two = tmp_path / "two.jsonl"  # two pairs: a 20% val split rounds to none
    two.write_text("".join(json.dumps({"prompt": f"q{i}", "chosen": "good", "rejected": "bad"}) + "\n"
                           for i in range(2)), encoding="utf-8")
    with pytest.raises(BuildError, match=r"the instruct val split is empty: 2 pairs in all are too few for --val-size"
                       ) as caught:
        build(_options(tmp_path / "o", inputs=(InputSpec(str(two)),)))
    assert "reasoning val split is empty" in str(caught.value)
    assert "--variant" not in str(caught.value)  # no variant would build: none is offered


def test_multi_turn_drops_are_warned_and_counted(tmp_path, tiny_model_dir, lengths) -> None:
    limit = 700
    built = build(_options(tmp_path / "o", tiny_model_dir, limit, variants=("reasoning",)))
    dropped_multi = sum(multi for n, multi in lengths["reasoning"] if n > limit)
    assert dropped_multi >= 5  # the premise: the long ones are mostly multi-turn
    text = summary_text(built)
    assert f"warning: the length filter dropped {dropped_multi} multi-turn pairs from reasoning" in text
    counts = RunMetadata.read(built.variants["reasoning"].manifest).counts
    assert sum(counts["too_long_multi_turn"].values()) == dropped_multi
    assert sum(counts["dropped"]["too_long"].values()) == sum(n > limit for n, _ in lengths["reasoning"])


def test_prompt_length_statistics_per_variant_in_console_and_manifest(tmp_path, tiny_model_dir, lengths) -> None:
    built = build(_options(tmp_path / "o", tiny_model_dir, 10**5))
    text = summary_text(built)
    for variant, measured in lengths.items():
        ordered = sorted(n for n, _ in measured)
        nearest = {q: ordered[math.ceil(q * len(ordered)) - 1] for q in (0.5, 0.99)}  # nearest-rank percentiles
        stats = RunMetadata.read(built.variants[variant].manifest).counts["prompt_tokens"]
        assert (stats["min"], stats["median"], stats["p99"], stats["max"]) == (
            ordered[0], nearest[0.5], nearest[0.99], ordered[-1])
        assert stats["pairs"] == len(ordered) and stats["over_limit"] == 0 and stats["limit"] == 10**5
        assert f"{variant} prompt tokens: min {ordered[0]:,}, median {nearest[0.5]:,}" in text


def test_every_variant_gets_its_per_source_lines(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "data_prep.build_parquet", "--inputs", str(SAMPLES), "--val-size",
                           "0.2", "--out", str(tmp_path / "o"), "--no-progress"], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    for variant in ("instruct", "reasoning"):
        assert f"sample_chat: read 8, dropped 0, kept 8 in {variant}" in done.stdout


def test_the_manifest_names_the_tokenizer_without_an_absolute_path(tmp_path, tiny_model_dir, monkeypatch) -> None:
    work = tmp_path / "work"
    (work / "models").mkdir(parents=True)
    inside = shutil.copytree(tiny_model_dir, work / "models" / "judge-tok")
    monkeypatch.chdir(work)

    def config(tokenizer: Path, out: str) -> dict:
        built = build(_options(tmp_path / out, tokenizer.resolve(), 10**5, variants=("reasoning",)))
        return RunMetadata.read(built.variants["reasoning"].manifest).config

    here = config(inside, "a")  # given as an absolute path inside the working directory
    assert here["tokenizer"] == "models/judge-tok"
    elsewhere = config(tiny_model_dir, "b")  # outside it: the folder's own name
    assert elsewhere["tokenizer"] == tiny_model_dir.name and not Path(elsewhere["tokenizer"]).is_absolute()
    assert here["tokenizer_sha256"] == elsewhere["tokenizer_sha256"]  # same files, same hash, wherever they are
    with open(inside / "tokenizer_config.json", "a", encoding="utf-8") as handle:
        handle.write("\n")  # any change to a tokenizer file changes the hash
    assert config(inside, "c")["tokenizer_sha256"] != here["tokenizer_sha256"]
