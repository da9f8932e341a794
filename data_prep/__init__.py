"""Preference pairs to judge prompts to verl-ready parquet (RL rows and SFT messages); the CLI is
``python data_prep/build_parquet.py``. Distillation and upstream's released sets live in :mod:`data_prep.distill`."""
