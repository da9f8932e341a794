"""The build and its CLI: layout, rows, manifest, determinism, atomicity, errors, rewards of rendered rows."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from data_prep.adapters import InputSpec
from data_prep.build_parquet import SAMPLES
from data_prep.pipeline import BuildError, BuildOptions, build
from data_prep.prompts import PROMPT_VERSION, TemplateError, builtin_template, render_pair
from infra.run_metadata import RunMetadata, sha256_file
from reward_fns import compute_score, format_verdict
from testkit.judge_texts import Evidence, compose_cor, swap
from testkit.verl_datasets import pair_of_row, rerender

SCRIPT = Path(__file__).resolve().parents[1] / "data_prep" / "build_parquet.py"


def _options(out: Path, **kw) -> BuildOptions:
    base = {"inputs": (InputSpec(str(SAMPLES)),), "out": out, "val_size": 0.2, "distill_fraction": 0.2,
            "seed": 0, "progress": False}
    return BuildOptions(**(base | kw))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("build") / "data"
    return build(_options(out)), out


def _rows(path: Path) -> list[dict]:
    return pq.read_table(path).to_pylist()


def test_fixed_layout(built) -> None:
    result, out = built
    assert sorted(p.name for p in out.iterdir()) == ["instruct", "reasoning"]  # no temp folders left behind
    for variant in ("instruct", "reasoning"):
        names = sorted(p.name for p in (out / variant).iterdir())
        assert names == ["distill.parquet", "manifest.json", "train.parquet", "val.parquet"]
        expected = {s: out / variant / f"{s}.parquet" for s in ("train", "val", "distill")}
        assert result.variants[variant].files == expected


def test_rows_follow_verls_schema_and_record_the_placement(built) -> None:
    result, _ = built
    for variant, vb in result.variants.items():
        for split, path in vb.files.items():
            rows = _rows(path)
            assert len(rows) == vb.rows[split]
            assert {tuple(r["extra_info"]) for r in rows} == {tuple(rows[0]["extra_info"])}  # one struct type
            for i, row in enumerate(rows):
                extra = row["extra_info"]
                assert row["data_source"] == f"rm_r1/{extra['source']}"
                assert row["reward_model"] == {"style": "rule", "ground_truth": extra["chosen_position"]}
                assert (extra["split"], extra["index"], extra["variant"]) == (split, i, variant)
                assert extra["prompt_version"] == PROMPT_VERSION and extra["seed"] == 0
                assert [m["role"] for m in row["prompt"]] == (["system", "user"] if variant == "instruct" else ["user"])
                pair = pair_of_row(row)
                assert row["prompt"] == render_pair(builtin_template(variant), pair, extra["chosen_position"])


def test_any_row_can_be_rerendered_in_the_other_order(built) -> None:
    result, _ = built
    row = _rows(result.variants["instruct"].files["train"])[0]
    other = rerender(row, builtin_template("instruct"))
    pair = pair_of_row(row)
    assert other == render_pair(builtin_template("instruct"), pair, swap(row["extra_info"]["chosen_position"]))
    assert other != row["prompt"] and rerender(row, builtin_template("instruct"), swapped=False) == row["prompt"]


def test_balance_per_split_and_source(built) -> None:
    result, _ = built
    for vb in result.variants.values():
        for path in vb.files.values():
            by_source: dict[str, Counter] = {}
            for row in _rows(path):
                by_source.setdefault(row["extra_info"]["source"], Counter())[row["reward_model"]["ground_truth"]] += 1
            assert all(abs(c["A"] - c["B"]) <= 1 for c in by_source.values()), by_source


def test_splits_are_disjoint_and_the_same_for_both_variants(built) -> None:
    result, _ = built
    ids = {v: {s: {r["extra_info"]["pair_id"] for r in _rows(p)} for s, p in vb.files.items()}
           for v, vb in result.variants.items()}
    assert ids["instruct"] == ids["reasoning"]
    train, val, distill = ids["instruct"]["train"], ids["instruct"]["val"], ids["instruct"]["distill"]
    assert not (train & val or train & distill or val & distill)
    assert len(train | val | distill) == sum(result.input_pairs.values())


def test_manifest(built) -> None:
    result, out = built
    meta = RunMetadata.read(out / "instruct" / "manifest.json")
    assert meta.tool == "data_prep.build_parquet" and meta.prompt_version == PROMPT_VERSION and meta.seed == 0
    assert meta.config["variant"] == "instruct" and meta.config["tokenizer"] is None
    assert meta.config["max_prompt_length"] is None and meta.config["chat_template_kwargs"] == {}
    assert meta.inputs[0].sha256 == sha256_file(SAMPLES)
    assert {o.path: o.sha256 for o in meta.outputs} == {
        f"{s}.parquet": sha256_file(out / "instruct" / f"{s}.parquet") for s in ("train", "val", "distill")
    }
    assert meta.counts["input_pairs"] == result.input_pairs
    assert sum(meta.counts["chosen_position_total"]["train"].values()) == result.variants["instruct"].rows["train"]


def test_rebuild_is_identical_and_the_seed_matters(built, tmp_path: Path) -> None:
    _, out = built
    again = build(_options(tmp_path / "again", variants=("instruct",)))
    first = RunMetadata.read(out / "instruct" / "manifest.json")
    assert RunMetadata.read(again.variants["instruct"].manifest).content_hash() == first.content_hash()
    other = build(_options(tmp_path / "other", variants=("instruct",), seed=1))
    assert sha256_file(other.variants["instruct"].files["train"]) != sha256_file(out / "instruct" / "train.parquet")


@pytest.mark.parametrize("variant", ["instruct", "reasoning"])
def test_rendered_rows_score_plus_one_for_the_truth_and_minus_one_otherwise(built, variant: str) -> None:
    result, _ = built
    for row in _rows(result.variants[variant].files["val"]):
        truth = row["reward_model"]["ground_truth"]
        for label, expected in ((truth, 1.0), (swap(truth), -1.0)):
            evidence = Evidence("a", "b", "c", "d")
            trace = compose_cor("Chat", label, rubric="Correct 100%", justify="j", evidence=evidence)
            response = trace if variant == "instruct" else f"Checking both.\n</think>\n\n{format_verdict(label)}"
            score = compute_score(data_source=row["data_source"], solution_str=response, ground_truth=truth,
                                  extra_info=row["extra_info"])
            assert score["score"] == expected


def test_failed_build_leaves_the_previous_output_alone(built, tmp_path: Path) -> None:
    _, out = built
    before = sha256_file(out / "instruct" / "train.parquet")
    single_only = tmp_path / "single_only.txt"
    single_only.write_text("=== user_single ===\n{question}\n{answer_a}\n{answer_b}\n{verdict_a} {verdict_b}\n")
    with pytest.raises(TemplateError, match="no user_multi section"):  # the samples include multi-turn pairs
        build(_options(out, variants=("instruct",), prompt_template=single_only))
    assert sha256_file(out / "instruct" / "train.parquet") == before
    assert sorted(p.name for p in out.iterdir()) == ["instruct", "reasoning"]


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"inputs": ()}, "no inputs given"),  # nothing to read
        ({"inputs": (InputSpec("missing.jsonl"),)}, "'missing.jsonl' does not exist"),  # a missing file
        ({"val_size": 0}, "would leave val.parquet empty"),  # no validation split
        ({"tokenizer": "x"}, "work together"),  # a tokenizer without a length
        ({"prompt_template": Path("t.txt")}, "exactly one --variant"),  # one template for two variants
        ({"variants": ("chat",)}, "not among"),  # an unknown variant
        ({"val_size": 31.0, "distill_fraction": 0.0}, "train split is empty"),  # everything went to val
        ({"val_size": 30.0}, "distill split is empty"),  # nothing left to set aside for distillation
    ],
)
def test_option_errors(tmp_path: Path, kw: dict, message: str) -> None:
    with pytest.raises(BuildError, match=message):
        build(_options(tmp_path / "o", **kw))


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_cli_without_arguments_prints_the_plan(tmp_path: Path) -> None:
    done = _cli(cwd=tmp_path)
    assert done.returncode == 0 and "Nothing built" in done.stdout and "--inputs" in done.stdout
    assert "instruct/: train.parquet, val.parquet, manifest.json" in done.stdout
    assert not any(tmp_path.iterdir())


def test_cli_help_documents_every_flag(tmp_path: Path) -> None:
    done = _cli("--help", cwd=tmp_path)
    flags = ["--inputs", "--variant", "--out", "--val-size", "--distill-fraction", "--seed", "--prompt-template",
             "--tokenizer", "--max-prompt-length", "--chat-template-kwargs", "--no-progress"]
    assert done.returncode == 0 and all(f in done.stdout for f in flags)


def test_cli_builds(tmp_path: Path) -> None:
    args = ["--inputs", f"mine={SAMPLES}", "--variant", "reasoning", "--out", "o", "--val-size", "0.2"]
    done = _cli(*args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "reasoning" in done.stdout and "read 31 pairs" in done.stdout
    assert sorted(p.name for p in (tmp_path / "o" / "reasoning").iterdir()) == [
        "manifest.json", "train.parquet", "val.parquet"]


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        (None, ["--inputs", "nope.jsonl"], "'nope.jsonl' does not exist"),  # missing file
        ("", ["--inputs", "empty.jsonl"], "hold no preference pairs"),  # empty result
        ('{"prompt": "q"}\n', ["--inputs", "empty.jsonl"], "columns found: ['prompt']"),  # wrong columns
        (None, ["--variant", "instruct"], "--inputs is required"),  # flags but no inputs
    ],
)
def test_cli_errors_are_one_sentence_and_nonzero(tmp_path: Path, setup, args: list[str], message: str) -> None:
    if setup is not None:
        (tmp_path / "empty.jsonl").write_text(setup)
    done = _cli(*args, "--no-progress", cwd=tmp_path)
    assert done.returncode == 2  # bad input: the documented exit code (infra.cli_errors)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("build_parquet: error:") and message in lines[0], done.stderr


def test_cli_rejects_bad_json_kwargs(tmp_path: Path) -> None:
    done = _cli("--inputs", str(SAMPLES), "--chat-template-kwargs", "[1]", cwd=tmp_path)
    assert done.returncode == 2 and "not a JSON object" in done.stderr


def test_a_template_file_builds_under_its_own_version(tmp_path: Path) -> None:
    template = tmp_path / "released.txt"
    template.write_text(
        "Prompt of some released checkpoint.\n=== system ===\nJudge; end with {verdict_a} or {verdict_b}.\n"
        "=== user_single ===\n{question}\n[A] {answer_a}\n[B] {answer_b}\n"
        "=== user_multi ===\n{conversation_a}\n---\n{conversation_b}\n",
        encoding="utf-8",
    )
    result = build(_options(tmp_path / "o", variants=("released",), prompt_template=template))
    built = result.variants["released"]
    version = built.prompt_version
    assert version.startswith("file-") and built.directory == tmp_path / "o" / "released"
    rows = _rows(built.files["train"])
    assert {r["extra_info"]["prompt_version"] for r in rows} == {version}
    meta = RunMetadata.read(built.manifest)
    assert meta.prompt_version == version and meta.config["template"] == str(template)


def test_a_missing_tokenizer_is_a_one_sentence_error(tmp_path: Path) -> None:
    from data_prep.length_filter import TokenizerError

    with pytest.raises(TokenizerError, match="neither a model folder nor in the local hub cache"):
        build(_options(tmp_path / "o", tokenizer=str(tmp_path / "no-model"), max_prompt_length=100))
    assert not (tmp_path / "o").exists()


def test_a_piped_stderr_gets_no_progress_bars(repo_root: Path, tmp_path: Path) -> None:
    # a captured stderr holds only real messages (progress bars are for terminals)
    pairs = repo_root / "preflight" / "samples" / "pairs.jsonl"
    done = subprocess.run([sys.executable, "data_prep/build_parquet.py", "--inputs", str(pairs), "--out",
                           str(tmp_path / "out")], cwd=repo_root, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "it/s" not in done.stderr and "rows/s" not in done.stderr and "\r" not in done.stderr
