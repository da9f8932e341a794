"""Validate mode: instead of training, check every node of the live Ray cluster and the recipe; write one JSON report.

    python -m launch.validate.rl --spec SPEC.json      (the job script's command: on the head, after
                                                     ray symmetric-run registered every node; RAY_ADDRESS set)

Without ``RAY_ADDRESS`` (``--local``) it starts a one-node Ray on loopback for the checks and stops it.
One Ray task pinned to EACH alive node runs :func:`launch.validate.node.check_node`; meanwhile this
process composes the recipe with the spec's overrides and runs the recipes' own checks
(``recipes.validate.check_composed``, the same ones ``launch.submit`` ran before submitting). The
report says whether the cluster registered the declared nodes and GPUs, whether every node passed,
whether the nodes run the same code, and whether the config is valid; the printed summary names every
warning too. Exit code 0 only when everything passed.

The report is its own small JSON shape (``launch-validate-v1``), not ``infra.run_metadata``: that
schema describes files a tool produced (inputs, outputs, content hash); this is a check result with
per-node rows and the run id of the launch that asked for it (``launch.submit`` shows no other run's
report). It is written atomically (``infra.atomic_files``) and uses run_metadata's git helper.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from infra.atomic_files import write_text_atomic
from infra.run_metadata import git_commit
from launch.checks.inputs import is_hub_id
from launch.validate.node import PROJECT, check_node, version_of
from launch.validate.spec import JobSpec, nodes_of

SCHEMA = "launch-validate-v1"


@dataclass(frozen=True)
class ClusterState:
    """Alive nodes and their resources as the Ray GCS reports them."""

    nodes: int
    gpus: int
    cpus: int
    hosts: tuple[str, ...]


def state_of(nodes: Sequence[dict[str, Any]]) -> ClusterState:
    """Summarise ``ray.nodes()`` output (dead nodes left out)."""
    alive = [n for n in nodes if n.get("Alive")]
    return ClusterState(
        nodes=len(alive),
        gpus=int(sum(n.get("Resources", {}).get("GPU", 0) for n in alive)),
        cpus=int(sum(n.get("Resources", {}).get("CPU", 0) for n in alive)),
        hosts=tuple(sorted(f"{n.get('NodeManagerHostname')} {n.get('NodeManagerAddress')}" for n in alive)),
    )


def connect(spec: JobSpec) -> None:
    """Attach to the job's Ray (RAY_ADDRESS); --local: start a one-node Ray on loopback with the declared GPUs."""
    import ray

    quiet = {"logging_level": "ERROR", "log_to_driver": False, "configure_logging": False}
    if os.environ.get("RAY_ADDRESS"):
        ray.init(**quiet)
        return
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # Ray's single-node mode keeps every server on loopback
    ray.init(num_gpus=spec.local_gpus or 0, num_cpus=spec.local_cpus or 1, include_dashboard=False,
             _node_ip_address="127.0.0.1", _temp_dir=spec.ray_tmpdir, **quiet)


def node_request(spec: JobSpec, cfg: Any, disk_gb: int | None) -> dict[str, Any]:
    """The plain-JSON request every node checks (paths as the driver will see them)."""
    from omegaconf import OmegaConf

    from recipes.compose import safe_select

    data = OmegaConf.to_container(cfg.data, resolve=True)
    model = str(safe_select(cfg, "actor_rollout_ref.model.path"))
    serves_rm = safe_select(cfg, "reward.reward_model.enable")
    judge = safe_select(cfg, "reward.reward_model.model_path") if serves_rm else None
    need, source = (spec.min_free_gb, "RMR1_MIN_FREE_GB") if spec.min_free_gb is not None else (
        disk_gb or 0, "recipes plan: kept checkpoints x size")
    return {
        "repo": spec.repo,
        "reward": OmegaConf.to_container(cfg.reward.custom_reward_function, resolve=True),
        "train_files": _list(data["train_files"]),
        "val_files": _list(data["val_files"]),
        "model": model,
        "model_is_hub_id": is_hub_id(model),
        "reward_model": str(judge) if judge else None,  # a judge or scalar RM verl serves, checked like the model
        "reward_model_is_hub_id": bool(judge) and is_hub_id(str(judge)),
        "checkpoint_dir": spec.output_dir,
        "output_root": spec.output_root,
        "min_free_gb": need,
        "need_source": source,
    }


def launch_problems(spec: JobSpec, cfg: Any) -> list[str]:
    """Launcher-level config checks: resources match the spec, Ray attach settings, resume on requeue."""
    problems = []
    nodes, gpus = nodes_of(cfg)
    if (nodes, gpus) != (spec.nnodes, spec.gpus_per_node):
        problems.append(f"the recipe now declares {nodes}x{gpus} GPUs but the job was submitted for "
                        f"{spec.nnodes}x{spec.gpus_per_node}; resubmit.")
    if cfg.ray_kwargs.ray_init.get("num_cpus") is not None:
        problems.append("ray_kwargs.ray_init.num_cpus is set, but it must stay null when attaching to the job's "
                        "Ray cluster; remove the override.")
    if spec.requeue and cfg.trainer.resume_mode != "auto":
        problems.append(f"trainer.resume_mode is {cfg.trainer.resume_mode!r}, so a requeued job would restart "
                        "from step 0; use auto or submit with RMR1_REQUEUE=0.")
    return problems


def start_node_checks(request: dict[str, Any]) -> dict[Any, dict[str, Any]]:
    """One check per alive node (pinned there, no CPU reserved); returns ``{object ref: node}``."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    remote = ray.remote(check_node)
    return {
        remote.options(
            num_cpus=0, scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"], soft=False)
        ).remote(request): node
        for node in ray.nodes()
        if node.get("Alive")
    }


def gather_node_checks(refs: dict[Any, dict[str, Any]], timeout: float) -> list[dict[str, Any]]:
    """Each node's result; a node that did not answer within ``timeout`` counts as failed."""
    import ray

    done, _ = ray.wait(list(refs), num_returns=len(refs), timeout=timeout)
    results = []
    for ref, node in refs.items():
        if ref in done:
            results.append(ray.get(ref))
        else:
            results.append({
                "hostname": node.get("NodeManagerHostname"), "ray_node_id": node["NodeID"], "ok": False,
                "checks": [{"name": "answered", "ok": False, "detail": f"no answer within {timeout:.0f} s"}],
            })
    return results


def build_report(spec: JobSpec, check_timeout: float) -> dict[str, Any]:
    """Run everything and return the report (never raises for a failed check)."""
    import ray

    from recipes.compose import RecipeError, compose_recipe
    from recipes.validate import Report, check_composed

    connect(spec)
    try:
        state = state_of(ray.nodes())
        recipe_report, problems, nodes = Report(spec.recipe, list(spec.overrides)), [], []
        try:
            composed = compose_recipe(spec.recipe, spec.overrides)
        except RecipeError as err:
            problems.append(str(err))
        else:
            disk = _plan_disk_gb(composed)
            refs = start_node_checks(node_request(spec, composed.cfg, disk))  # nodes work while we check here
            recipe_report = check_composed(composed)
            problems += launch_problems(spec, composed.cfg)
            nodes = gather_node_checks(refs, check_timeout)
    finally:
        ray.shutdown()
    return assemble(spec, state, nodes, recipe_report.to_dict(), problems)


def _plan_disk_gb(composed: Any) -> int | None:
    """The disk the recipe's kept checkpoints need (recipes plan; the manifest's row count sets the saves)."""
    from recipes.manifest import default_manifest_path, read_manifest
    from recipes.plan import make_plan

    path = default_manifest_path(composed)
    try:
        manifest = read_manifest(path) if path.is_file() else None
    except ValueError:
        manifest = None
    return make_plan(composed, manifest).disk_gb


def assemble(
    spec: JobSpec, state: Any, nodes: list[dict[str, Any]], recipe: dict[str, Any], problems: list[str]
) -> dict[str, Any]:
    """The report dict; ``ok`` only when cluster, nodes, consistency and config all passed."""
    expected_gpus = spec.nnodes * spec.gpus_per_node
    cluster_ok = state.nodes == spec.nnodes and state.gpus == expected_gpus
    commits = sorted({str(n.get("git_commit")) for n in nodes})
    versions = sorted({str(n.get("project_version")) for n in nodes})
    consistent = len(commits) == 1 and len(versions) == 1
    nodes_ok = bool(nodes) and all(n["ok"] for n in nodes) and len(nodes) == state.nodes
    config_ok = bool(recipe["ok"]) and not problems
    return {
        "schema": SCHEMA,
        "ok": cluster_ok and nodes_ok and consistent and config_ok,
        "recipe": spec.recipe,
        "overrides": spec.overrides,
        "backend": spec.backend,
        "run_id": spec.run_id,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "launcher": {"version": version_of(PROJECT), "git_commit": git_commit(spec.repo)},
        "cluster": {
            "ok": cluster_ok,
            "expected_nodes": spec.nnodes,
            "expected_gpus": expected_gpus,
            "registered_nodes": state.nodes,
            "registered_gpus": state.gpus,
            "registered_cpus": state.cpus,
        },
        "nodes_ok": nodes_ok,
        "nodes": sorted(nodes, key=lambda n: str(n.get("slurm_node") or n.get("hostname"))),
        "consistency": {"ok": consistent, "git_commits": commits, "project_versions": versions},
        "config": {"ok": config_ok, "launch_problems": problems, "recipe_report": recipe},
    }


def summary(report: dict[str, Any]) -> str:
    """Lines for the job log: one per node and one verdict."""
    lines = []
    for node in report["nodes"]:
        failed = [f"{c['name']}: {c['detail']}" for c in node["checks"] if not c["ok"]]
        name = node.get("slurm_node") or node.get("hostname")
        lines.append(f"node {name}: {'ok' if node['ok'] else 'FAILED ' + '; '.join(failed)}")
    c = report["cluster"]
    lines.append(f"cluster: {c['registered_nodes']}/{c['expected_nodes']} nodes, "
                 f"{c['registered_gpus']}/{c['expected_gpus']} GPUs registered")
    same = report.get("consistency", {"ok": True})
    if not same["ok"]:  # otherwise a FAILED verdict could follow lines that all say ok
        lines.append(f"code: DIFFERS between nodes: git commits {', '.join(same['git_commits'])}, project versions "
                     f"{', '.join(same['project_versions'])}; run every node from one checkout and install")
    config = report["config"]
    problems = config["recipe_report"]["problems"]
    errors = [p["message"] for p in problems if p["level"] == "error"]
    lines.append(f"config: {'valid' if config['ok'] else 'INVALID: ' + ' '.join(errors + config['launch_problems'])}")
    lines += [f"warning: [{p['check']}] {p['message']}" for p in problems if p["level"] == "warning"]
    warned = sum(p["level"] == "warning" for p in problems)
    lines.append(f"validate {'PASSED' if report['ok'] else 'FAILED'}: {report['recipe']} ({warned} warning(s))")
    return "\n".join(lines)


def _list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m launch.validate.rl", description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, required=True)
    parser.add_argument("--check-timeout", type=float, default=None, help="seconds per node (default RMR1_RAY_TIMEOUT)")
    args = parser.parse_args(argv)
    spec = JobSpec.read(args.spec)
    start = time.monotonic()
    report = build_report(spec, args.check_timeout or spec.ray_timeout)
    report["seconds"] = round(time.monotonic() - start, 1)
    path = Path(spec.report or Path(spec.log_dir) / f"validate-{spec.run_id}.json")
    write_text_atomic(path, json.dumps(report, indent=2, sort_keys=False) + "\n")
    print(summary(report), flush=True)
    print(f"report: {path}", flush=True)
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    from infra.cli_errors import run_cli

    raise SystemExit(run_cli(main, prog="python -m launch.validate.rl"))
