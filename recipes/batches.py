"""Batch arithmetic and memory estimates that verl only discovers on the GPUs (or never reports).

verl's ``validate_config`` skips most divisibility checks once ``use_dynamic_bsz`` is on, and the SFT
trainer silently floors ``train_batch_size / dp``; these checks name the number to change instead.
"""

from __future__ import annotations

from typing import Any

from recipes.compose import Composed, Problem, error, warning
from recipes.plan import GPU_GB, TRAIN_STATE_BYTES_PER_PARAM, size_of

_ARR = "actor_rollout_ref"


def check_batches(composed: Composed) -> list[Problem]:
    """Divisibility of train batch, mini batch, micro batch x GPUs and rollout n; token budgets; TP."""
    return _rl_batches(composed.cfg) if composed.kind == "rl" else _sft_batches(composed.cfg)


def check_memory(composed: Composed) -> list[Problem]:
    """Warn when resident training state plus vLLM's share would not fit one GPU during rollout."""
    size = size_of(composed.choices)
    if composed.kind != "rl" or size is None:
        return []
    cfg = composed.cfg
    actor, rollout = cfg[_ARR].actor, cfg[_ARR].rollout
    n_gpus = cfg.trainer.nnodes * cfg.trainer.n_gpus_per_node
    bytes_per_param = TRAIN_STATE_BYTES_PER_PARAM
    bytes_per_param -= 8 if actor.fsdp_config.param_offload else 0  # fp32 weights + gradients
    bytes_per_param -= 8 if actor.fsdp_config.optimizer_offload else 0  # Adam moments
    resident = size.params_b * bytes_per_param / n_gpus
    gpu_gb = GPU_GB
    need = resident + rollout.gpu_memory_utilization * gpu_gb
    if need <= 0.95 * gpu_gb:
        return []
    return [warning(
        "memory",
        f"a {size.name} actor on {n_gpus} GPUs keeps ~{resident:.0f} GB/GPU of training state beside vLLM's "
        f"{rollout.gpu_memory_utilization:g} x {gpu_gb:g} GB (~{need:.0f} GB of {gpu_gb:g}); raise trainer.nnodes "
        f"or set {_ARR}.actor.fsdp_config.param_offload=true and optimizer_offload=true.")]


def _rl_batches(cfg: Any) -> list[Problem]:
    actor, rollout = cfg[_ARR].actor, cfg[_ARR].rollout
    prompts, mini, n = cfg.data.train_batch_size, actor.ppo_mini_batch_size, rollout.n
    per_node, n_gpus = cfg.trainer.n_gpus_per_node, cfg.trainer.nnodes * cfg.trainer.n_gpus_per_node
    sp = actor.fsdp_config.ulysses_sequence_parallel_size
    dp = n_gpus // sp if n_gpus % sp == 0 else 0
    seq = cfg.data.max_prompt_length + cfg.data.max_response_length
    tp = rollout.tensor_model_parallel_size
    problems = []
    if cfg.algorithm.adv_estimator == "grpo" and n < 2:
        problems.append(error(
            "batch", f"GRPO compares samples of one prompt but {_ARR}.rollout.n is {n}; set it >= 2."))
    if mini > prompts or prompts % mini:
        problems.append(error(
            "batch",
            f"data.train_batch_size {prompts} is not a multiple of {_ARR}.actor.ppo_mini_batch_size {mini}; "
            f"set the mini batch to a divisor such as {_nearest_divisor(prompts, mini)}."))
    if not dp:
        problems.append(error(
            "batch", f"{n_gpus} GPUs do not split into Ulysses groups of {sp}; set a divisor of {n_gpus}."))
    elif (prompts * n) % dp:
        problems.append(error(
            "batch",
            f"{prompts} prompts x n={n} = {prompts * n} rollouts do not split evenly over {dp} data-parallel "
            f"ranks; change data.train_batch_size to a multiple of {_step(dp, n)}."))
    elif (mini * n) % dp:
        problems.append(error(
            "batch",
            f"one mini-batch of {mini} prompts x n={n} = {mini * n} sequences does not split over {dp} "
            f"data-parallel ranks; change {_ARR}.actor.ppo_mini_batch_size to a multiple of {_step(dp, n)}."))
    elif not actor.use_dynamic_bsz:
        micro = actor.ppo_micro_batch_size_per_gpu
        per_gpu = mini * n // dp
        if not micro or per_gpu % micro:
            problems.append(error(
                "batch",
                f"each GPU gets {per_gpu} sequences per mini-batch, not a multiple of "
                f"{_ARR}.actor.ppo_micro_batch_size_per_gpu={micro}; set it to a divisor of {per_gpu}."))
    if actor.use_dynamic_bsz:
        problems += _budgets(cfg, seq, sp)
    if per_node % tp or tp > per_node:
        problems.append(error(
            "batch",
            f"{_ARR}.rollout.tensor_model_parallel_size {tp} must divide the {per_node} GPUs of one node "
            "(vLLM shards a replica inside a node); set 1, 2, 4 or 8."))
    if rollout.max_num_batched_tokens < seq:
        problems.append(warning(
            "batch",
            f"{_ARR}.rollout.max_num_batched_tokens {rollout.max_num_batched_tokens} is below one sequence "
            f"({seq} tokens), so every long prompt is prefilled in pieces; set it to at least {seq}."))
    return problems


def _budgets(cfg: Any, seq: int, sp: int) -> list[Problem]:
    """With dynamic batching every token budget must hold one full prompt + response."""
    arr = cfg[_ARR]
    budgets = {
        f"{_ARR}.actor.ppo_max_token_len_per_gpu": arr.actor.ppo_max_token_len_per_gpu,
        f"{_ARR}.ref.log_prob_max_token_len_per_gpu": arr.ref.log_prob_max_token_len_per_gpu,
        f"{_ARR}.rollout.log_prob_max_token_len_per_gpu": arr.rollout.log_prob_max_token_len_per_gpu,
    }
    problems = []
    for key, budget in budgets.items():
        if budget * sp < seq:
            problems.append(error(
                "batch",
                f"{key} {budget} (x Ulysses {sp}) cannot hold one {seq}-token sequence "
                f"(data.max_prompt_length + data.max_response_length); set it to at least {seq}."))
    actor_budget = arr.actor.ppo_max_token_len_per_gpu * sp
    if seq <= actor_budget < 2 * seq:
        problems.append(warning(
            "batch",
            f"{_ARR}.actor.ppo_max_token_len_per_gpu {arr.actor.ppo_max_token_len_per_gpu} is under verl's "
            f"guidance of 2 x (prompt + response) = {2 * seq}; raise it unless memory is short."))
    return problems


def _sft_batches(cfg: Any) -> list[Problem]:
    data = cfg.data
    n_gpus = cfg.trainer.nnodes * cfg.trainer.n_gpus_per_node
    sp = cfg.engine.ulysses_sequence_parallel_size
    dp = max(n_gpus // sp, 1)
    problems = []
    if data.train_batch_size % dp:
        problems.append(error(
            "batch",
            f"data.train_batch_size {data.train_batch_size} does not split over {dp} data-parallel ranks "
            f"(verl would silently floor it to {data.train_batch_size // dp * dp}); set a multiple of {dp}."))
    elif data.use_dynamic_bsz and data.max_token_len_per_gpu * sp < data.max_length:
        problems.append(error(
            "batch",
            f"data.max_token_len_per_gpu {data.max_token_len_per_gpu} cannot hold one row of data.max_length "
            f"{data.max_length}; set it to at least {data.max_length}."))
    elif not data.use_dynamic_bsz and (data.train_batch_size // dp) % data.micro_batch_size_per_gpu:
        per_gpu = data.train_batch_size // dp
        problems.append(error(
            "batch",
            f"each GPU gets {per_gpu} rows per step, not a multiple of data.micro_batch_size_per_gpu="
            f"{data.micro_batch_size_per_gpu}; set it to a divisor of {per_gpu}."))
    return problems


def _nearest_divisor(total: int, wanted: int) -> int:
    divisors = [d for d in range(1, total + 1) if total % d == 0]
    return min(divisors, key=lambda d: (abs(d - wanted), -d))


def _step(dp: int, n: int) -> int:
    """Smallest prompt count p with p * n divisible by dp."""
    from math import gcd

    return dp // gcd(dp, n)
