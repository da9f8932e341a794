"""The resolved configuration the launcher prints first: every value with its source, then the job script."""

from __future__ import annotations

import os
from typing import Any

from launch.checks.inputs import CKPT_KEY, RunInputs, value_of
from launch.settings import KNOBS, Settings

INPUT_KNOBS = ("RMR1_MODEL_PATH", "RMR1_DATA_DIR", "RMR1_OUTPUT_DIR")


def describe(spec: Any, settings: Settings, inputs: RunInputs, composed: Any, job: Any, mode: str,
             where: str) -> str:
    """The echo: run facts, cluster settings, then the whole job script.

    ``spec`` is the run's launch.validate.spec.JobSpec and ``job`` its launch.submit.Prepared (not imported:
    the validate room reads this room's inputs, so this room must not import it back).
    """
    nodes = value_of(composed, "trainer.nnodes")
    save = value_of(composed, "trainer.save_freq")
    rows = [
        ("recipe", spec.recipe, f"recipes/{spec.recipe}.yaml"),
        ("mode", f"{mode} via {where}", "--validate / VALIDATE=1" if mode == "validate" else "default"),
        ("resources", f"{spec.nnodes} node(s) x {spec.gpus_per_node} GPUs", _resources_source(composed, nodes)),
        ("model", inputs.model.value, inputs.model.source),
        ("train data", ", ".join(inputs.train_files), inputs.data_source),
        ("val data", ", ".join(inputs.val_files), inputs.data_source),
        ("checkpoints", spec.output_dir, value_of(composed, CKPT_KEY).source),
        ("save_freq", f"every {save.value} steps: a requeue loses at most {save.value} steps", save.source),
        ("resume", "trainer.resume_mode=auto" if spec.requeue else "off (RMR1_REQUEUE=0)", "launcher"),
        ("logger", _logger(composed), "trainer.logger"),
        ("python", settings.get("RMR1_PYTHON") or "the launcher's", settings.source("RMR1_PYTHON")),
        ("logs", spec.log_dir, settings.source("RMR1_LOG_DIR")),
    ]
    if job.report:
        rows.append(("report", str(job.report), "--report" if "validate-" not in job.report.name else "default"))
    if inputs.pins:
        rows.append(("pinned", " ".join(inputs.pins), "relative paths made absolute for the nodes"))
    lines = [f"== {spec.recipe}: resolved launch configuration [source]"]
    lines += [f"{name:<14}{value}  [{source}]" for name, value, source in rows]
    lines.append(f"-- cluster settings (env file: {settings.env_file or 'none; --env-file or RMR1_ENV_FILE'})")
    for knob in KNOBS:
        if knob.env not in INPUT_KNOBS:
            value = settings.get(knob.env)
            lines.append(f"{knob.env:<22}{value if value is not None else '(unset)'}  [{settings.source(knob.env)}]")
    for key, value in sorted(settings.extra_env.items()):
        lines.append(f"{key:<22}{value}  [env file, exported to the job]")
    run = "sbatch --parsable" if where in ("sbatch", "dry run") else "bash"
    lines.append(f"-- job script: {run} {job.script_path if where != 'dry run' else '<this script>'}")
    lines.append(job.script.rstrip("\n"))
    lines.append("-- end of job script")
    return "\n".join(lines)


def _logger(composed: Any) -> str:
    loggers = composed.cfg.trainer.logger
    loggers = [loggers] if isinstance(loggers, str) else list(loggers or [])
    key = "WANDB_API_KEY set in environment (hidden)" if os.environ.get("WANDB_API_KEY") else "WANDB_API_KEY unset"
    return f"{','.join(loggers)}; {key}" if "wandb" in loggers else ",".join(loggers)


def _resources_source(composed: Any, nodes: Any) -> str:
    """Where the node count comes from: the trainer's, plus a standalone judge's own nodes (spec.nodes_of)."""
    source = f"trainer.nnodes: {nodes.source}"
    judge = value_of(composed, "reward.reward_model.nnodes")
    pooled = value_of(composed, "reward.reward_model.enable_resource_pool").value
    if pooled and value_of(composed, "reward.reward_model.enable").value:
        source += f" + reward.reward_model.nnodes {judge.value} (standalone judge): {judge.source}"
    return source
