"""Benchmark loaders and their official aggregations (RewardBench v1 now; RM-Bench, RMB, RewardBench 2 and
JudgeBench plug into the same runner next)."""
