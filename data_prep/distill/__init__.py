"""Distillation (teacher traces to SFT parquet: ``run``, ``passes``) and upstream's released sets
(``released``); run them as ``python data_prep/distill.py`` and ``python data_prep/released.py``."""
