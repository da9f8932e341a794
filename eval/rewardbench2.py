"""RewardBench 2 with a generative pairwise judge: best-of-4 as the chosen answer against each rejected one.

    python eval/rewardbench2.py --ckpt PATH                                 # local checkpoint (vLLM on GPU, else HF)
    python eval/rewardbench2.py --base-url http://127.0.0.1:8000/v1 --model NAME --variant instruct

Data: the hub dataset allenai/reward-bench-2 (split test; HF_HUB_OFFLINE=1 reads only the local cache)
or a local .jsonl/.json/.parquet file or folder with --data.
Score: the unweighted mean of the 6 subsets. Non-Ties: a prompt is correct only if the chosen answer
beats each of the 3 rejected ones; with --order both a comparison won in one order only is a tie, and a
prompt with no loss and k ties scores 1/(k+1) (the official shared top). Ties: a PAIRWISE SUBSTITUTE
(every correct answer must beat every incorrect one in every order; the mean of reference- and
tied-prompt accuracy), NOT comparable with the official leaderboard's composite, nor is an overall
that includes it; the mean of the other 5 subsets is reported beside it.
Raw generations are cached in <out>/generations.jsonl: rerunning resumes without repeating a request.
Outputs in --out: summary.json, items.jsonl, report.md, sections.png, subsets.png.
Exit status: 0 done, 1 the run failed (cached results are kept), 2 a bad flag or input, 130 interrupted.
"""

from __future__ import annotations

import sys

try:  # a Python without the project says so in one line, not a traceback (infra/environment.py)
    import infra.environment  # noqa: F401
except ModuleNotFoundError as err:
    print(f"{sys.argv[0]}: error: this Python ({sys.executable}) lacks {err.name!r}; run the project's own "
          "(.venv/bin/python after make setup, or pip install -e . in yours).", file=sys.stderr)
    raise SystemExit(2) from None

from functools import partial

from eval import session
from eval.benchmarks.rewardbench2 import BENCHMARK

main = partial(session.main, BENCHMARK, "python eval/rewardbench2.py", __doc__)


if __name__ == "__main__":
    sys.exit(main())
