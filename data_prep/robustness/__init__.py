"""Robustness probe texts and the defence pairs built from their held-apart part (issue 21).

Lives in data_prep because both sides use it: eval builds probes from the EVAL part, and training
data (``build_parquet --adversarial``) adds defence pairs from the DEFENCE part; eval may import
data_prep but never the reverse.
"""
