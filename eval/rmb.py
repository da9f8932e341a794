"""RMB with a generative pairwise judge: pairwise and best-of-N, helpfulness and harmlessness, from a local copy.

    python eval/rmb.py --data PATH/TO/RMB_dataset --ckpt PATH               # local checkpoint
    python eval/rmb.py --data PATH/TO/RMB_dataset --base-url http://127.0.0.1:8000/v1 --model NAME --variant instruct

Data: RMB has NO license, so it is never shipped or downloaded: clone
https://github.com/Zhou-Zoey/RMB-Reward-Model-Benchmark yourself and pass its RMB_dataset folder (or the
clone) with --data; the layout {Pairwise_set,BoN_set}/{Helpfulness/<Category>/<Scenario>.json,
Harmlessness/*.json} is read as it is, folder names in any case (--split and --revision do not apply).
Degenerate rows (identical or blank answers, an empty last user turn) are judged as published and listed;
a row no prompt can show is skipped and named. Complete = all 98 files and the published best-of-N counts
(2,109 helpfulness, 1,677 harmlessness; the pairwise total is not published).
Score, as RM-R1 reports it: the mean of {pairwise helpfulness, pairwise harmlessness, BoN helpfulness,
BoN harmlessness}. Pairwise = micro accuracy over pairs (with --order both, each pair's mean of the two
orders). Best-of-N: the best answer is compared with every loser and the item counts only if it wins
EVERY comparison in EVERY order judged (a parse failure is never a win); the report gives beside it the
one-random-order expectation, the number comparable with RM-R1's published RMB. Per category path scores
are in the report. Raw generations are cached in <out>/generations.jsonl: rerunning resumes without repeating a request.
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
from eval.benchmarks.rmb import BENCHMARK

main = partial(session.main, BENCHMARK, "python eval/rmb.py", __doc__)


if __name__ == "__main__":
    sys.exit(main())
