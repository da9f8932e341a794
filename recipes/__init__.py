"""Hydra recipe deltas over verl 0.9.1 configs, and the checks that validate them before any GPU is spent.

``recipes.validate.validate_recipe(name, overrides, manifest)`` is the launcher's validate mode;
``python -m recipes.check`` is the same as a CLI that prints the plan.
"""
