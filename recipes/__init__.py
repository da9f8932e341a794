"""Hydra recipe deltas over verl 0.9.1 configs, and the checks that validate them."""
