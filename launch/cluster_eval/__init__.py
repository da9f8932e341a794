"""Cluster eval (``bash launch/eval.sh``): the checked request and its job script (``cli``), and the per-replica
validate check with its gathered report (``validate``)."""
