"""Preference pairs to judge prompts to verl-ready parquet (RL rows and SFT messages)."""
