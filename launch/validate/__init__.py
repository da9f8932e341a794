"""Validate mode, run inside the job: the per-node checks, the RL report over the job's Ray cluster
(``python -m launch.validate.rl``), the SFT check under every node's torchrun (``launch.validate.sft``),
and the spec the launcher writes for them."""
