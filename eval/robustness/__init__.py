"""The robustness and faithfulness suite (issue 21): probes as ordinary pairwise comparisons.

Probe texts come from :mod:`data_prep.robustness.library` (its EVAL part only). ``generators`` turns
each pairwise comparison a benchmark loader yields into probe comparisons, ``suite`` wraps them as a
:class:`eval.benchmark.Benchmark` (so the runner, cache and backends judge them in both orders),
``metrics`` and ``faithfulness`` compute the rates, ``report`` writes tables, a PNG and thresholds.
"""
