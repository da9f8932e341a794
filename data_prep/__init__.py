"""Preference pairs to judge prompts to verl-ready parquet (RL rows and SFT messages).

Modules: ``prompts`` (the judge templates, PROMPT_VERSION, rendering, candidate markers),
``cor_parser`` (the Chain-of-Rubrics structure of a response), ``pairs`` (PreferencePair),
``adapters`` (sources -> pairs: local pair files, and ``adapters.hub``: the table of the rm_r1 mix's hub schemas),
``mix`` and ``mixes/`` (training mixes as yaml), ``source_files`` (local files, folders, pinned hub
snapshots), ``cleaning`` and ``neutralise`` (drops by reason, judge markup broken in training texts),
``decontamination`` and ``benchmark_prompts`` (benchmark prompts kept out of training), ``collect``
(read + clean + decontaminate, every row accounted for), ``splits`` and ``placement`` (seeded
train/val/distill and A/B), ``length_filter`` and ``length_stream`` (token counts as verl counts them,
batched, in a helper thread), ``writers`` (verl RL/SFT rows, atomic streamed writes), ``manifest``,
``options`` (BuildOptions and their checks), ``variant_plan`` (per-variant length filter, statistics,
empty-split errors), ``output_tree`` (all variants committed together or none; killed builds undone),
``errors`` (DataPrepError, the package's one user-error base), ``pipeline`` (``build``) and
``build_parquet`` (the CLI); ``distill`` (the distillation CLI) with
``distill_run``, ``distill_input``, ``distill_passes``, ``distill_checks``, ``distill_prompts``,
``distill_leaks``, ``distill_cache``, ``distill_accounting``, ``distill_output`` and
``distill_manifest`` (teacher traces to SFT parquet); ``released`` (the CLI for upstream's released
datasets) with ``released_schema`` and ``released_writers``. The preflight's data stage lives in
:mod:`preflight.data_stage`; the generated stand-ins for the real datasets in :mod:`testkit`.
"""
