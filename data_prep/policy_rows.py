"""Policy-RL parquet: prompts with a reference answer, for training a policy with the judge as its reward.

    python data_prep/build_parquet.py --policy --inputs pairs.jsonl --out data/policy
    python data_prep/build_parquet.py --policy --mix rm_r1 --source skywork=DIR ... --decontaminate ... \\
        --out data/policy

The rows come from the same preference sources, read, cleaned, neutralised and decontaminated by the
same stage as every build (:func:`data_prep.collect.collect`) and split with the same seeded grouping
(pairs sharing a prompt land in one split). Each prompt becomes ONE row: the policy sees the client's
turn, and the chosen answer of its first pair (by id) is the reference the judge compares each rollout
with (``reward_model.ground_truth``); ``extra_info.question`` is the text the judge is shown as the
client's question (:mod:`reward_fns.judge_reward`). Multi-turn pairs are dropped and counted: the judge
reward shows the judge one question. Output: ``{out}/policy/{train,val}.parquet`` and ``manifest.json``
(inputs with hashes, seed, decontamination, every row accounted for), swapped in all at once.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from data_prep import manifest
from data_prep.cleaning import CLEANING_VERSION
from data_prep.collect import collect
from data_prep.errors import BuildError
from data_prep.neutralise import NEUTRALISE_VERSION
from data_prep.options import BuildOptions, check_options
from data_prep.pairs import PreferencePair
from data_prep.pipeline import check_out_path, output_tree
from data_prep.splits import split_pairs
from data_prep.writers import write_parquet_rows
from infra.run_metadata import OutputRef, RunMetadata, git_commit, now_volatile
from infra.versions import tool_version

FOLDER = "policy"
DATA_SOURCE_PREFIX = "policy"
ABILITY = "chat"
SPLITS: tuple[str, ...] = ("train", "val")
DROP_REASONS: tuple[str, ...] = ("multi_turn", "repeat_prompt")


@dataclass(frozen=True)
class PolicyBuild:
    """What :func:`build_policy` wrote."""

    directory: Path
    rows: dict[str, int]
    dropped: dict[str, dict[str, int]]


def policy_row(pair: PreferencePair, split: str, index: int, seed: int) -> dict[str, Any]:
    """One policy-RL row: the client's turn as the prompt, the chosen answer as the judge's reference."""
    question = pair.conversation[0]["content"]
    return {
        "data_source": f"{DATA_SOURCE_PREFIX}/{pair.source}",
        "prompt": [{"role": "user", "content": question}],
        "ability": ABILITY,
        "reward_model": {"style": "model", "ground_truth": pair.chosen[0]["content"]},
        "extra_info": {"split": split, "index": index, "question": question, "pair_id": pair.id,
                       "source": pair.source, "seed": seed},
    }


def policy_prompts(pairs: Sequence[PreferencePair]) -> tuple[list[PreferencePair], dict[str, Counter[str]]]:
    """One single-turn pair per prompt (the first by id), and the drops per reason and source."""
    dropped: dict[str, Counter[str]] = defaultdict(Counter)
    seen: set[str] = set()
    kept = []
    for pair in sorted(pairs, key=lambda p: (p.source, p.id)):
        reason = "multi_turn" if pair.is_multi_turn else "repeat_prompt" if pair.conversation_key in seen else None
        if reason:
            dropped[reason][pair.source] += 1
            continue
        seen.add(pair.conversation_key)
        kept.append(pair)
    return kept, dropped


def build_policy(options: BuildOptions) -> PolicyBuild:
    """Build ``{out}/policy/{train,val}.parquet`` + manifest from the inputs of ``options``: all or nothing."""
    _check(options)
    check_out_path(replace(options, variants=(FOLDER,)))
    with output_tree(options.out) as tree:
        collected = collect(options)
        splits = split_pairs(collected.pairs, options.val_size, 0.0, options.seed)
        stage = tree.folder(FOLDER)
        dropped: dict[str, Counter[str]] = defaultdict(Counter)
        rows: dict[str, dict[str, int]] = {}
        kept: dict[str, list[PreferencePair]] = {}
        for split in SPLITS:
            kept[split], drops = policy_prompts(splits[split])
            for reason, by_source in drops.items():
                dropped[reason].update(by_source)
            rows[split] = dict(sorted(Counter(p.source for p in kept[split]).items()))
        if not any(kept.values()):
            raise BuildError(f"inputs hold no single-turn prompt to keep (dropped: {_summary(collected, dropped)}); "
                             "point --inputs/--source at files with single-turn pairs.")
        if empty := [split for split in SPLITS if not kept[split]]:
            raise BuildError(f"no single-turn prompt is left for the {' and '.join(empty)} split (dropped: "
                             f"{_summary(collected, dropped)}); add single-turn pairs or change --val-size.")
        for split in SPLITS:
            write_parquet_rows((policy_row(pair, split, index, options.seed) for index, pair in enumerate(kept[split])),
                               stage / f"{split}.parquet")
        counts = _counts(collected, dropped, rows)
        _manifest(options, stage, counts, collected).write(stage / manifest.MANIFEST_NAME)
        tree.commit()
    plain = {reason: dict(by_source) for reason, by_source in counts["dropped"].items() if by_source}
    return PolicyBuild(Path(options.out) / FOLDER, {s: sum(r.values()) for s, r in rows.items()}, plain)


def _check(options: BuildOptions) -> None:
    unused = [flag for flag, value in (("--distill-fraction", options.distill_fraction),
                                       ("--prompt-template", options.prompt_template),
                                       ("--tokenizer", options.tokenizer)) if value]
    if unused:
        raise BuildError(f"{', '.join(unused)} has no effect with --policy (policy rows hold no judge prompt); "
                         "drop it.")
    if not options.inputs and options.mix is None:
        raise BuildError("--policy needs --inputs or --mix to read prompts from.")
    check_options(options)  # --val-size, --decontam-threshold, the input files: as for every build


def _counts(collected: Any, dropped: dict[str, Counter[str]], rows: dict[str, dict[str, int]]) -> dict[str, Any]:
    drops = collected.ledger.dropped_counts() | {r: dict(sorted(dropped[r].items())) for r in DROP_REASONS}
    counts: dict[str, Any] = {"input_pairs": collected.ledger.read_counts(), "dropped": drops, "rows": rows,
                              "neutralised": collected.ledger.neutralised_counts(),
                              "decontamination": (collected.decontamination or {}).get("counts", {})}
    manifest.add_accounting(counts)  # read == dropped + kept per source, or a RuntimeError (a bug)
    return counts


def _summary(collected: Any, dropped: dict[str, Counter[str]]) -> str:
    totals = {r: sum(c.values()) for r, c in collected.ledger.dropped_counts().items() if c}
    totals |= {r: sum(c.values()) for r, c in dropped.items() if c}
    return ", ".join(f"{r} {n}" for r, n in totals.items()) or "none"


def _manifest(options: BuildOptions, folder: Path, counts: dict[str, Any], collected: Any) -> RunMetadata:
    outputs = [OutputRef.for_file(folder / f"{s}.parquet", folder, rows=sum(counts["rows"][s].values()))
               for s in SPLITS]
    decontamination = collected.decontamination
    config = {
        "variant": FOLDER,
        "splits": {split: f"{split}.parquet" for split in SPLITS},
        "val_size": options.val_size,
        "data_source_prefix": DATA_SOURCE_PREFIX,
        "reference": "chosen answer of the first pair (by id) per prompt",
        "sources": collected.sources,
        "cleaning": {"version": CLEANING_VERSION, "neutralise": NEUTRALISE_VERSION},
        "decontamination": {k: v for k, v in decontamination.items() if k != "counts"} if decontamination else None,
        "tokenizer": None,
        "max_prompt_length": None,
    }
    return RunMetadata(tool=manifest.TOOL, tool_version=tool_version(), git_commit=git_commit(Path(__file__).parent),
                       inputs=list(collected.inputs), prompt_version=None, seed=options.seed, config=config,
                       counts=counts, outputs=outputs, volatile=now_volatile())
