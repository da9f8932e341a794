"""Hydra recipe deltas over verl 0.9.1 configs, and the checks that validate them before any GPU is spent
(:mod:`recipes.validate`; ``python -m recipes.check`` prints the plan and every problem).
"""
