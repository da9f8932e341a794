"""Robustness and faithfulness of a pairwise judge: injection, master keys, counterfactuals, reasoning.

    python eval/robustness.py --ckpt PATH --data PATH/TO/rewardbench.jsonl --limit 50
    python eval/robustness.py --base-url http://127.0.0.1:8000/v1 --model NAME --variant instruct \\
        --benchmark rmbench --data PATH --max-attack-success 0.05 --max-false-win 0.05

Probes are built from any pairwise data an eval loader reads (--benchmark names the loader), seeded
by --seed, from the EVAL part of the versioned probe library (data_prep/robustness/library.py; its
held-apart DEFENCE part is only for training data). Each base comparison becomes: the clean pair;
injections in the worse answer (planted verdicts, spoofed delimiters of our prompt, fake
Chain-of-Rubrics blocks, authority notes, instructions to the judge, a fake </think>, superficial
reflection, obfuscated copies); master keys against the better answer; counterfactual edits that
break the better answer's key fact and meaning-preserving rewrites of it; style padding of the worse
answer. All are judged in both orders through the shared runner and cache (rerun to resume). From the
judge's texts: quote grounding, reasoning-verdict consistency, and an intervention that feeds its own
reasoning back with corrupted evidence (hf/vllm backends).
Outputs in --out: robustness.md / robustness.json / robustness.png (one table per probe, Wilson 95%
intervals, paired bootstrap for flips, coverage, clean accuracy) beside the standard report files.
Exit status: 0 done, 1 the run failed or a --max-*/--min-* threshold was exceeded, 2 a bad flag or
input, 130 interrupted.

(This file is the command; the code lives in the package eval/robustness/, which `import
eval.robustness` finds first.)
"""

from __future__ import annotations

import sys

try:  # a Python without the project says so in one line, not a traceback (infra/environment.py)
    import infra.environment  # noqa: F401
except ModuleNotFoundError as err:
    print(f"{sys.argv[0]}: error: this Python ({sys.executable}) lacks {err.name!r}; run the project's own "
          "(.venv/bin/python after make setup, or pip install -e . in yours).", file=sys.stderr)
    raise SystemExit(2) from None


from eval.robustness.cli import main

if __name__ == "__main__":
    sys.exit(main(doc=__doc__))
