"""RewardBench v1 with a generative judge: reproducible, resumable, with both A/B orders by default.

    python eval/rewardbench.py --ckpt PATH                                  # local checkpoint (vLLM on GPU, else HF)
    python eval/rewardbench.py --base-url http://127.0.0.1:8000/v1 --model NAME --variant instruct
    python eval/rewardbench.py --ckpt PATH --order random --seed 1          # one seeded order per comparison

Data: the hub dataset allenai/reward-bench (split filtered, pinned revision; HF_HUB_OFFLINE=1 reads
only the local cache) or a local .jsonl/.json/.parquet file or folder with --data.
Score: mean of the 4 section scores, each the subset accuracies weighted by the official example
counts (math-prm 984); the micro mean is printed beside it, labelled. With --order both the headline
is the mean over the two orders; per-order accuracy, both-orders accuracy, position consistency and
A-bias are reported. A judgment without a verdict scores --parse-failure-score (0 by default).
Raw generations are cached in <out>/generations.jsonl: rerunning the same command after a crash
resumes without repeating a request, and re-scores everything from the raw texts.
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
from eval.benchmarks.rewardbench import BENCHMARK

main = partial(session.main, BENCHMARK, "python eval/rewardbench.py", __doc__)


if __name__ == "__main__":
    sys.exit(main())
