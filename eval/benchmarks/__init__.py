"""Benchmark loaders and their official aggregations, one module per benchmark, each defining ``BENCHMARK``:
RewardBench v1, RM-Bench, RMB, RewardBench 2 and JudgeBench (``comparisons`` holds their shared order rules)."""
