"""Training mixes as data: one yaml file per mix (``rm_r1.yaml`` is the paper's). See :mod:`data_prep.mix`."""
