"""JudgeBench with a generative pairwise judge: every pair in both orders, +1/-1 per decision, correct iff net > 0.

    python eval/judgebench.py --ckpt PATH                                   # local checkpoint (vLLM on GPU, else HF)
    python eval/judgebench.py --split claude --base-url http://127.0.0.1:8000/v1 --model NAME --variant instruct

Data: the hub dataset ScalerLab/JudgeBench (split gpt, or claude; HF_HUB_OFFLINE=1 reads only the
local cache) or a local .jsonl/.json/.parquet file or folder with --data. A folder holding the
repository's two files (dataset=judgebench,response_model=gpt-4o-....jsonl and ...claude-3-5-sonnet-....jsonl)
is read for --split alone (a file belongs to split S when its name, or a key=value part of it, starts
with S); a folder with no file of the split is refused. Identical responses (one claude pair) are judged
as they are and listed in the report. Complete = the official 350 (gpt) or 270 (claude) pairs.
Score: micro accuracy over pairs, overall and per source prefix (mmlu-pro, livebench-reasoning,
livebench-math, livecodebench). With --order both (default, the official protocol) each order's decision
counts +1 if right, -1 if wrong, 0 without a verdict, and a pair is correct iff the net is positive: a
judge that flips with the order gets no credit. --order random judges one seeded order per pair.
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
from eval.benchmarks.judgebench import BENCHMARK

main = partial(session.main, BENCHMARK, "python eval/judgebench.py", __doc__)


if __name__ == "__main__":
    sys.exit(main())
