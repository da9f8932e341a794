"""RewardBench aggregation: the official definition from the rewardbench 0.1.4 wheel, and hand-computed cases.

The wheel is downloaded at setup (`make setup`) into .cache/wheels and never installed: its package
__init__ pins transformers 4.51 and imports torch models. Only rewardbench/constants.py (no imports) is
read out of the zip, and calculate_scores_per_section's own source is cut out of rewardbench/utils.py
(with ast; the rest of that module imports heavy packages) and run: the test compares our aggregation
with the official code itself.
"""

from __future__ import annotations

import ast
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eval.benchmarks.rewardbench import EXAMPLE_COUNTS, SECTIONS, aggregate_view, overall_score, section_scores

WHEEL = "rewardbench-0.1.4-py3-none-any.whl"


@pytest.fixture(scope="module")
def official(repo_root: Path) -> dict[str, Any]:
    """EXAMPLE_COUNTS, SUBSET_MAPPING and calculate_scores_per_section, exec'd from the wheel's own source."""
    wheel = repo_root / ".cache" / "wheels" / WHEEL
    if not wheel.is_file():
        pytest.fail(f"{wheel.relative_to(repo_root)} is missing: run `make setup` (or `.venv/bin/pip download "
                    "--no-deps rewardbench==0.1.4 -d .cache/wheels`); this test never skips.")
    with zipfile.ZipFile(wheel) as archive:
        constants = archive.read("rewardbench/constants.py").decode("utf-8")
        utils = archive.read("rewardbench/utils.py").decode("utf-8")
    namespace: dict[str, Any] = {}
    exec(compile(constants, f"{WHEEL}/rewardbench/constants.py", "exec"), namespace)
    function = next(node for node in ast.parse(utils).body
                    if isinstance(node, ast.FunctionDef) and node.name == "calculate_scores_per_section")
    exec(compile(ast.get_source_segment(utils, function) or "", f"{WHEEL}/rewardbench/utils.py", "exec"), namespace)
    return namespace


def test_our_tables_equal_the_official_constants(official: dict[str, Any]) -> None:
    assert EXAMPLE_COUNTS == official["EXAMPLE_COUNTS"]
    assert {k: list(v) for k, v in SECTIONS.items()} == official["SUBSET_MAPPING"]
    assert EXAMPLE_COUNTS["math-prm"] == 984  # weighted as code, not its 447 real rows


_SUBSETS = sorted(EXAMPLE_COUNTS)
# Per-item results: (subset, score) with score 0, 0.5 or 1 (one order, mean of two orders, parse-failure 0.5).
_ITEMS = st.lists(st.tuples(st.sampled_from(_SUBSETS), st.sampled_from([0.0, 0.5, 1.0])), min_size=1, max_size=300)


@given(_ITEMS)
def test_section_scores_equal_the_official_definition(official: dict[str, Any], items: list[tuple[str, float]]) -> None:
    by_subset: dict[str, list[float]] = {}
    for subset, score in items:
        by_subset.setdefault(subset, []).append(score)
    ours = aggregate_view(by_subset)
    metrics = {s: sum(v) / len(v) for s, v in by_subset.items()}  # per-subset accuracy, as the official runner
    official_sections = official["calculate_scores_per_section"]
    theirs = official_sections(official["EXAMPLE_COUNTS"], official["SUBSET_MAPPING"], metrics)
    for section, value in theirs.items():
        if ours["sections"][section] is None:  # no judged item in the section: official writes 0, we write None
            assert value == 0 and not any(s in by_subset for s in official["SUBSET_MAPPING"][section])
        else:
            assert ours["sections"][section] == pytest.approx(value, abs=1e-12)
    if all(v is not None for v in ours["sections"].values()):
        assert ours["overall"] == pytest.approx(sum(theirs.values()) / 4, abs=1e-12)
    else:
        assert ours["overall"] is None  # never a number that looks real for a partial run
    assert ours["micro_mean"] == pytest.approx(sum(s for _, s in items) / len(items), abs=1e-12)


@pytest.mark.parametrize(
    ("subset_means", "expected_sections"),
    [
        # one subset per section: each section is that subset's accuracy
        ({"alpacaeval-easy": 1.0, "mt-bench-hard": 0.5, "donotanswer": 0.25, "hep-go": 0.0},
         {"Chat": 1.0, "Chat Hard": 0.5, "Safety": 0.25, "Reasoning": 0.0}),
        # math-prm weighs 984 against hep-cpp's 164: (984*1 + 164*0) / 1148 = 6/7
        ({"alpacaeval-easy": 1.0, "mt-bench-hard": 1.0, "donotanswer": 1.0, "math-prm": 1.0, "hep-cpp": 0.0},
         {"Chat": 1.0, "Chat Hard": 1.0, "Safety": 1.0, "Reasoning": 6 / 7}),
        # Chat: (100*0.875 + 40*0.5) / 140 = 107.5/140; Safety: (100*1 + 250*0) / 350 = 2/7
        ({"alpacaeval-easy": 0.875, "mt-bench-med": 0.5, "llmbar-natural": 0.5, "refusals-dangerous": 1.0,
          "xstest-should-respond": 0.0, "hep-rust": 1.0},
         {"Chat": 107.5 / 140, "Chat Hard": 0.5, "Safety": 2 / 7, "Reasoning": 1.0}),
        # a section without judged subsets is None, not 0
        ({"alpacaeval-easy": 1.0}, {"Chat": 1.0, "Chat Hard": None, "Safety": None, "Reasoning": None}),
    ],
)
def test_section_scores_hand_computed(subset_means: dict[str, float], expected_sections: dict[str, Any]) -> None:
    got = section_scores(subset_means)
    assert got == pytest.approx(expected_sections)


def test_overall_is_the_plain_mean_of_sections() -> None:
    assert overall_score({"Chat": 1.0, "Chat Hard": 0.5, "Safety": 0.25, "Reasoning": 0.25}) == 0.5  # 2.0 / 4
    assert overall_score({"Chat": 1.0, "Chat Hard": None, "Safety": 1.0, "Reasoning": 1.0}) is None


def test_micro_mean_differs_from_the_score_and_is_reported_apart() -> None:
    # 3 math items right, 1 hep item wrong, one item elsewhere per section right.
    view = aggregate_view({"math-prm": [1.0, 1.0, 1.0], "hep-cpp": [0.0], "alpacaeval-easy": [1.0],
                           "mt-bench-hard": [1.0], "donotanswer": [1.0]})
    assert view["sections"]["Reasoning"] == pytest.approx(984 / 1148)  # (984*1 + 164*0) / 1148
    assert view["overall"] == pytest.approx((3 + 984 / 1148) / 4)
    assert view["micro_mean"] == pytest.approx(6 / 7)  # 6 of 7 comparisons right
