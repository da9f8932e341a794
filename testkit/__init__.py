"""Test kits: stand-ins for the expensive or external things, for tests, the preflight and benchmarks.

Never imported by product code (an import-linter contract keeps it so); testkit may import any
product package. Modules: ``tiny_model`` (a tiny random Qwen2 model and tokenizer, no downloads),
``verl_reward`` (scores rollouts through verl's own reward manager on CPU), ``verl_datasets`` (verl's
RL and SFT datasets configured as the trainer does, scripted Chain-of-Rubrics traces),
``loopback_judge`` with ``loopback_policies`` and ``loopback_protocol`` (a scripted chat-completions
server on 127.0.0.1), ``cor_policies`` (scripted Chain-of-Rubrics teachers for it),
``scripted_backend`` (the loopback policies as an in-process eval backend),
``synthetic_text`` and ``synthetic_sources`` (generated stand-ins for the hub datasets and benchmark
prompt files) and ``local_slurm`` (a real Slurm of virtual nodes on one machine).
"""
