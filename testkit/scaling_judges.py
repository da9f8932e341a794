"""Scripted judges of known per-comparison accuracy for voting, ranking and pointwise tests (issue 23).

Two kinds, both deterministic so expected accuracies are exact:

* :func:`digit_judge` (pure, for :mod:`eval.ranking` and :mod:`eval.voting`): for item ``n``, the
  judgment in slot ``t`` is right iff digit ``t`` of ``n`` written in base ``base`` is below ``right``.
  Enumerating ``n`` over ``base ** slots`` items makes the slots exactly independent with accuracy
  ``right / base`` each, so majority, knockout and round-robin accuracies are binomial sums.
* :class:`SeededJudgeBackend` (an eval backend): reads each candidate's ``(quality N)`` marker and
  picks the better one iff the request's seed (:meth:`Sampling.request_seed`, which includes the
  sample index through the cache key) falls in the right share; pointwise prompts get the quality as
  the score when right and ``11 - quality`` when wrong. A test replays :func:`seeded_right` to predict
  every number exactly. Each answer reports ``tokens`` completion tokens, so cost curves are exact too.
* :class:`SeededLoopbackJudge`: the same judge served over HTTP (the loopback server), reading the seed
  the OpenAI-compatible backend sends with every sampled request (a greedy request has none: seed 0).

``python -m testkit.scaling_judges --write-demo DIR`` writes the README's synthetic demo data into DIR
(judge pairs and ranking candidates with ``(quality N)`` markers); ``--port 8013`` serves the judge.
"""

from __future__ import annotations

import json
import re
import signal
import threading
from collections.abc import Sequence
from itertools import combinations
from pathlib import Path
from typing import Any

from eval.backends.base import Generation, OnResult, Request, Sampling
from infra.cli_errors import OneLineParser, run_cli
from reward_fns import format_verdict
from reward_fns.pointwise import format_score
from testkit.judge_texts import extract_candidates
from testkit.loopback_judge import LoopbackJudge
from testkit.scripted_backend import ScriptedBackend

QUALITY = re.compile(r"\(quality (\d+)\)")
_POINTWISE_ANSWER = re.compile(r"\[The Start of Chatbot's Response\]\n(.*?)\n\[The End of Chatbot's Response\]",
                               re.DOTALL)


def digit_right(item: int, slot: int, base: int, right: int) -> bool:
    """Whether judgment ``slot`` of ``item`` is right: its digit ``slot`` in base ``base`` is below ``right``."""
    return (item // base ** slot) % base < right


def pair_slots(n: int) -> dict[frozenset[int], int]:
    """The slot index of every unordered pair of ``n`` candidates (in combinations order)."""
    return {frozenset(pair): i for i, pair in enumerate(combinations(range(n), 2))}


def digit_judge(item: int, n: int, *, votes: int = 1, base: int = 4, right: int = 3) -> Any:
    """A ranking judge over candidates ``0..n-1`` (a lower index is better) with digit-determined rightness.

    The judgment of pair {i, j}, sample s uses slot ``pair_slot * votes + s``.
    """
    slots = pair_slots(n)

    def judge(first: int, second: int, sample: int) -> int:
        better, worse = min(first, second), max(first, second)
        slot = slots[frozenset((first, second))] * votes + sample
        return better if digit_right(item, slot, base, right) else worse

    return judge


def seeded_right(seed: int, base: int = 4, right: int = 3) -> bool:
    """Whether a request with this per-request seed is judged right by :class:`SeededJudgeBackend`."""
    return seed % base < right


class SeededJudgeBackend(ScriptedBackend):
    """A scripted eval backend whose rightness is a function of each request's seed (see the module docstring)."""

    def __init__(self, *, base: int = 4, right: int = 3, tokens: int = 100, model_name: str = "seeded-judge") -> None:
        super().__init__(model_name=model_name)  # identity, call count and the backend protocol; answers are ours
        self.base, self.right, self.tokens = base, right, tokens

    def answer(self, prompt: str, seed: int) -> str:
        """The response to one prompt under one per-request seed."""
        right = seeded_right(seed, self.base, self.right)
        pointwise = _POINTWISE_ANSWER.search(prompt)
        if pointwise is not None:
            quality = _quality(pointwise.group(1))
            return f"{self._reasoning()}{format_score(quality if right else 11 - quality)}"
        found = extract_candidates(prompt)
        if found is None:
            raise ValueError("the seeded judge found no candidates in the prompt")
        qa, qb = (_quality(text) for text in found)
        better = "A" if qa > qb else "B"
        label = better if right else ("B" if better == "A" else "A")
        return f"{self._reasoning()}{format_verdict(label)}"

    def _reasoning(self) -> str:
        # ``tokens`` words, so a server counting words as tokens (the loopback judge) reports ``tokens`` too
        return "<think>" + " ".join(["step"] * self.tokens) + "</think>"

    def generate(self, requests: Sequence[Request], sampling: Sampling, on_result: OnResult) -> None:
        for index, request in enumerate(requests):
            prompt = next(m["content"] for m in reversed(request.messages) if m["role"] == "user")
            self.calls += 1
            text = self.answer(prompt, sampling.request_seed(request.key))
            on_result(index, Generation(text, "stop", prompt_tokens=None, completion_tokens=self.tokens))


def _quality(text: str) -> int:
    match = QUALITY.search(text)
    if match is None:
        raise ValueError("the seeded judge needs a '(quality N)' marker in every candidate")
    return max(1, min(10, int(match.group(1))))


class SeededLoopbackJudge(LoopbackJudge):
    """The seeded judge as a loopback HTTP server: its rightness comes from each request's ``seed``."""

    def __init__(self, *, base: int = 4, right: int = 3, tokens: int = 100, **options: Any) -> None:
        super().__init__("always_a", **options)
        self.seeded = SeededJudgeBackend(base=base, right=right, tokens=tokens)

    def respond(self, prompt: str, request: dict[str, Any]) -> str:
        seed = request.get("seed")
        return self.seeded.answer(prompt, seed if isinstance(seed, int) else 0)


def write_demo(folder: Path, pairs: int = 16, prompts: int = 8) -> None:
    """The README's synthetic data: JudgeBench-format pairs and ranking candidates with (quality N) markers."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [{"pair_id": f"p{i}", "original_id": f"o{i}", "source": "mmlu-pro-demo", "question": f"Demo question {i}?",
             "response_model": "demo", "response_A": f"First answer to {i} (quality {8 if i % 2 else 3}).",
             "response_B": f"Second answer to {i} (quality {3 if i % 2 else 8}).", "label": "A>B" if i % 2 else "B>A"}
            for i in range(pairs)]
    (folder / "judgebench.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    ranking = [{"id": f"q{i}", "prompt": f"Demo prompt {i}?", "best": 0,
                "candidates": [f"Candidate {j} for {i} (quality {9 - j})." for j in range(2 + i % 4)]}
               for i in range(prompts)]
    (folder / "candidates.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ranking))


def main(argv: Sequence[str] | None = None) -> int:
    """Write the demo data (``--write-demo``), or serve the seeded judge until interrupted (prints its base URL)."""
    parser = OneLineParser(prog="python -m testkit.scaling_judges", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--right", type=int, default=3, help="right on seeds whose remainder mod --base is below this")
    parser.add_argument("--base", type=int, default=4)
    parser.add_argument("--tokens", type=int, default=100, help="reasoning words (tokens) per answer")
    parser.add_argument("--write-demo", type=Path, metavar="DIR", help="write the demo data into DIR and exit")
    args = parser.parse_args(argv)
    if args.write_demo is not None:
        write_demo(args.write_demo)
        return 0
    done = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: done.set())
    with SeededLoopbackJudge(base=args.base, right=args.right, tokens=args.tokens, port=args.port) as judge:
        print(judge.base_url, flush=True)
        done.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(run_cli(main, prog="python -m testkit.scaling_judges"))
