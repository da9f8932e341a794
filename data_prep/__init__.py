"""Preference pairs to judge prompts to verl-ready parquet (RL rows and SFT messages).

Modules: ``prompts`` (the judge templates, PROMPT_VERSION, rendering, candidate markers),
``cor_parser`` (the Chain-of-Rubrics structure of a response), ``pairs`` (PreferencePair),
``adapters`` (sources -> pairs), ``splits`` and ``placement`` (seeded train/val/distill and A/B),
``length_filter``, ``writers`` (verl RL/SFT rows, atomic writes), ``manifest``, ``pipeline`` (``build``),
``build_parquet`` (the CLI) and ``preflight`` (the preflight stage).
"""
