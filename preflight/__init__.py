"""The CPU preflight: the whole pipeline on bundled sample data, up to the GPU boundary.

``python -m preflight`` (the README's ``make preflight``) runs the stages listed in
:data:`preflight.driver.STAGES`: ``reward_stage``, ``data_stage``, ``eval_stage`` and ``launch_stage``,
each a plain function ``work_dir -> summary``. Every bundled sample input is in ``samples/``, all
synthetic: preference pairs (also the README's first ``build_parquet`` input), rollouts with the
score each must get, and one small fixture per benchmark in that benchmark's exact schema (the eval
tests and the README's offline demo use them too).
"""
