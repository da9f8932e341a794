"""Checks before submission: the run's inputs, the recipe's own checks, the chain's stage inputs, the request
against the partition (sinfo), and the echo of the resolved configuration. Nothing here submits or writes."""
