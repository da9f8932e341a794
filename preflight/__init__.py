"""The CPU preflight: the whole pipeline on bundled sample data, up to the GPU boundary.

``python -m preflight`` (the README's ``make preflight``) runs the stages listed in
:data:`preflight.driver.STAGES`: ``reward_stage``, ``data_stage``, ``eval_stage`` and ``launch_stage``,
each a plain function ``work_dir -> summary``. The sample inputs are in ``samples/``: preference pairs,
scored rollouts and a RewardBench-schema fixture, all synthetic.
"""
