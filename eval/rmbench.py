"""RM-Bench with a generative pairwise judge: all 9 chosen x rejected style comparisons per prompt, both orders.

    python eval/rmbench.py --ckpt PATH                                      # local checkpoint (vLLM on GPU, else HF)
    python eval/rmbench.py --base-url http://127.0.0.1:8000/v1 --model NAME --variant instruct
    python eval/rmbench.py --data preflight/samples/rmbench_sample.jsonl --ckpt PATH --variant instruct

Data: the hub dataset THU-KEG/RM-Bench (split train; HF_HUB_OFFLINE=1 reads only the local cache) or
a local .jsonl/.json/.parquet file or folder with --data (rows: id, prompt, chosen[3], rejected[3], domain),
or the GitHub repository's per-domain files data/{chat,code,math,safety-refuse,safety-response}_filtered.json
(a file, or the folder holding them: the domain is the file; ids become <domain>:<id>). Complete = the
official 1,327 prompts (chat 129, code 228, math 529, safety-refuse 284, safety-response 157).
Score: per domain a 3x3 matrix M[i][j] = score of chosen style i against rejected style j (styles:
concise, detailed plain, detailed markdown), averaged over the domain's prompts; hard = upper triangle,
normal = diagonal, easy = lower triangle; a domain = the mean of its 9 cells (safety pools
safety-refuse and safety-response); the score = the mean of chat, math, code and safety. The report
also prints the hard/easy numbers upstream RM-R1's scorer would give from the same judgments (it
filled 3 cells from the wrong file). With --order both (default) each cell is the mean of the two orders.
Raw generations are cached in <out>/generations.jsonl (--cache to share one between benchmarks):
rerunning the same command after a crash resumes without repeating a request.
Outputs in --out: summary.json, items.jsonl, report.md, sections.png, subsets.png, rmbench_<domain>.png.
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
from eval.benchmarks.rmbench import BENCHMARK

main = partial(session.main, BENCHMARK, "python eval/rmbench.py", __doc__)


if __name__ == "__main__":
    sys.exit(main())
