"""Cluster settings for the launcher: one table of knobs, read from flags, the environment or one env file.

Everything cluster-specific (partition, account, CPUs per GPU, container, module loads, time limit)
is a knob here, so per-model wrappers never carry it. Precedence: command-line flag, then the
process environment, then the env file (``--env-file`` or ``RMR1_ENV_FILE``), then the default, whose
source is cited. Resources (nodes, GPUs per node) are NOT knobs: the recipe declares them.

The env file holds ``KEY=VALUE`` lines (``#`` comments, optional ``export``, shell-style quotes); it
is parsed, never executed. ``RMR1_*`` keys must be knobs below (a typo is an error, not a silently
ignored setting); other keys (``NCCL_SOCKET_IFNAME``, ``HF_HOME``...) are exported to the job, except
secrets (any name :func:`infra.redaction.is_secret_name` calls secret: ``OPENAI_APIKEY``, ``GH_PAT``,
``AWS_CREDENTIALS``...), which come only from the environment. Integer knobs carry their range, so ``0``
CPUs or a ``0`` s timeout is refused instead of silently meaning "the default".
"""

from __future__ import annotations

import difflib
import os
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from infra.redaction import is_secret_name
from launch.errors import SettingsError

ENV_FILE_VAR = "RMR1_ENV_FILE"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
TRUE_WORDS = frozenset({"1", "true", "yes", "on", "y"})
FALSE_WORDS = frozenset({"", "0", "false", "no", "off", "n"})

__all__ = ["KNOBS", "Knob", "Setting", "Settings", "SettingsError", "read_env_file", "resolve_settings", "switch"]


@dataclass(frozen=True)
class Knob:
    """One cluster setting: its variable, its flag, its default and where that default comes from."""

    env: str
    flag: str
    default: str | None
    source: str
    help: str
    integer: bool = False
    minimum: int | None = None  # integer knobs: the smallest value that works (0 would silently mean "default")
    maximum: int | None = None


KNOBS: tuple[Knob, ...] = (
    # Recipe inputs: the recipes read these variables (recipes/*.yaml, ${oc.env:...}).
    Knob("RMR1_MODEL_PATH", "--model-path", None, "the recipe's default model path", "HF model dir or hub id"),
    Knob("RMR1_DATA_DIR", "--data-dir", None, "the recipe's default data/rm_r1", "data builder output folder"),
    Knob("RMR1_OUTPUT_DIR", "--output-dir", None, "the recipe's default ./checkpoints", "existing shared folder"),
    # Slurm request.
    Knob("RMR1_PARTITION", "--partition", None, "Slurm's default partition", "Slurm partition"),
    Knob("RMR1_ACCOUNT", "--account", None, "your Slurm default account", "Slurm account"),
    Knob("RMR1_QOS", "--qos", None, "the partition's default QOS", "Slurm QOS"),
    Knob("RMR1_CPUS_PER_GPU", "--cpus-per-gpu", "8", "8 fits 8-GPU nodes with >= 64 cores", "CPUs per GPU", True, 1),
    Knob("RMR1_CPUS", "--cpus", "16", "data, distill and export jobs: tokenising and merging", "CPUs of a CPU job",
         True, 1),
    Knob("RMR1_MEM", "--mem", None, "the partition's default memory per node", "memory per node, e.g. 0 = all"),
    Knob("RMR1_TIME", "--time", "24:00:00", "a common partition maximum; set your partition's", "wall time"),
    Knob("RMR1_SIGNAL_SECONDS", "--signal-seconds", "600", "10 min: a last save + KillWait", "requeue signal", True,
         1, 65535),
    Knob("RMR1_REQUEUE", "--requeue", "1", "requeue on preemption and before the time limit", "1 or 0", True, 0, 1),
    Knob("RMR1_MAX_REQUEUES", "--max-requeues", "20", "stops a crash-looping job", "self-requeue limit", True, 0),
    Knob("RMR1_LOG_DIR", "--log-dir", None, "<trainer.default_local_dir>/launch", "Slurm and Ray logs, reports"),
    Knob("RMR1_SBATCH_ARGS", "--sbatch-args", None, "none", "extra sbatch arguments, e.g. --exclusive"),
    # What runs on every node.
    Knob("RMR1_CONTAINER_IMAGE", "--container-image", None, "no container", "pyxis image for every srun step"),
    Knob("RMR1_CONTAINER_MOUNTS", "--container-mounts", None, "none", "pyxis mounts (repo, data, output)"),
    Knob("RMR1_MODULES", "--modules", None, "none", "modules to load on every node"),
    Knob("RMR1_SETUP", "--setup", None, "none", "script sourced on every node (venv/conda activation)"),
    Knob("RMR1_SRUN_ARGS", "--srun-args", None, "none", "extra arguments for every srun step"),
    Knob("RMR1_PYTHON", "--python", None, "the interpreter running the launcher", "Python on every node"),
    Knob("RMR1_DRIVER_MODULE", "--driver-module", "verl.trainer.main_ppo", "verl's GRPO entry point", "driver"),
    # Ray.
    Knob("RMR1_RAY_NUM_CPUS", "--ray-num-cpus", None, "the CPUs Slurm granted per node", "Ray CPUs/node", True, 1),
    Knob("RMR1_RAY_PORT", "--ray-port", "6379", "Ray's default GCS port", "Ray head port", True, 1, 65535),
    Knob("RMR1_RAY_TMPDIR", "--ray-tmpdir", None, "Ray's default /tmp/ray", "Ray temp dir (short path)"),
    Knob("RMR1_RAY_TIMEOUT", "--ray-timeout", "300", "Ray nodes import slowly from shared filesystems",
         "seconds to wait for every node", True, 1),
    # Validate mode.
    Knob("RMR1_MIN_FREE_GB", "--min-free-gb", None, "kept checkpoints x size (recipes plan)", "free disk", True, 0),
)
KNOB_BY_ENV = {k.env: k for k in KNOBS}


@dataclass(frozen=True)
class Setting:
    """A resolved value and where it came from (shown in the echoed config)."""

    value: str | None
    source: str


@dataclass
class Settings:
    """Every knob resolved, plus extra (non-RMR1) variables from the env file to export to the job."""

    values: dict[str, Setting]
    extra_env: dict[str, str] = field(default_factory=dict)
    env_file: Path | None = None

    def get(self, env: str) -> str | None:
        """The value of knob ``env`` (None when unset)."""
        return self.values[env].value

    def integer(self, env: str) -> int | None:
        """The value of integer knob ``env``."""
        value = self.get(env)
        return None if value is None else int(value)

    def source(self, env: str) -> str:
        return self.values[env].source


def read_env_file(path: Path) -> dict[str, tuple[str, int]]:
    """``{KEY: (value, line number)}`` from an env file; raises SettingsError on a malformed line or a secret."""
    fix = f"pass an existing file to --env-file or {ENV_FILE_VAR}"
    if path.is_dir():
        raise SettingsError(f"env file {path} is a directory; {fix}, such as a copy of launch/cluster.env.example.")
    if not path.is_file():
        raise SettingsError(f"env file {path} does not exist; {fix}.")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        at = path.read_bytes()[: err.start].count(b"\n") + 1
        raise SettingsError(f"{path}:{at} is not UTF-8 text; save the env file as UTF-8.") from err
    except OSError as err:
        raise SettingsError(f"env file {path} cannot be read ({err.strerror}); {fix}.") from err
    found: dict[str, tuple[str, int]] = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, rest = line.removeprefix("export ").partition("=")
        key = key.strip()
        if not sep or not _NAME.match(key):
            raise SettingsError(f"{path}:{lineno} is not KEY=VALUE; write one assignment per line.")
        try:
            words = shlex.split(rest, comments=True)
        except ValueError as err:
            raise SettingsError(f"{path}:{lineno} has unbalanced quotes ({err}); quote the value once.") from err
        found[key] = (" ".join(words), lineno)
    return found


def resolve_settings(
    flags: Mapping[str, str | None], environ: Mapping[str, str], env_file: Path | None = None
) -> Settings:
    """Resolve every knob: ``flags`` (by env name) > ``environ`` > env file > default."""
    if env_file is None and environ.get(ENV_FILE_VAR):
        env_file = Path(environ[ENV_FILE_VAR])
    from_file = read_env_file(env_file) if env_file else {}
    _check_file_keys(from_file, env_file)
    values = {}
    for knob in KNOBS:
        values[knob.env] = _resolve_one(knob, flags.get(knob.env), environ, from_file, env_file)
    extra = {k: v for k, (v, _) in from_file.items() if not k.startswith("RMR1_") and k not in environ}
    return Settings(values=values, extra_env=extra, env_file=env_file)


def _resolve_one(
    knob: Knob,
    flag: str | None,
    environ: Mapping[str, str],
    from_file: Mapping[str, tuple[str, int]],
    env_file: Path | None,
) -> Setting:
    if flag is not None:
        setting = Setting(flag, f"flag {knob.flag}")
    elif environ.get(knob.env):
        setting = Setting(environ[knob.env], f"environment {knob.env}")
    elif knob.env in from_file:
        value, line = from_file[knob.env]
        setting = Setting(value, f"env file {env_file}:{line}")
    else:
        setting = Setting(knob.default, f"default: {knob.source}")
    if knob.integer and setting.value is not None:
        _check_integer(knob, setting)
    return setting


def _check_integer(knob: Knob, setting: Setting) -> None:
    """Whole numbers within the knob's range: 0 CPUs or a 0 s timeout must not silently mean "the default"."""
    text = (setting.value or "").strip()
    low, high = knob.minimum, knob.maximum
    allowed = f"from {low} to {high}" if high is not None else f"of {low} or more" if low is not None else ""
    if not re.fullmatch(r"\d+", text):
        raise SettingsError(f"{knob.env} is {setting.value!r} ({setting.source}); it must be a whole number {allowed}.")
    value = int(text)
    if (low is not None and value < low) or (high is not None and value > high):
        raise SettingsError(
            f"{knob.env} is {value} ({setting.source}); pass {knob.flag} with a whole number {allowed}."
        )


def _check_file_keys(from_file: Mapping[str, tuple[str, int]], env_file: Path | None) -> None:
    for key, (_, line) in from_file.items():
        if key.startswith("RMR1_") and key not in KNOB_BY_ENV:
            hint = difflib.get_close_matches(key, list(KNOB_BY_ENV), n=1)
            fix = f"did you mean {hint[0]}?" if hint else "see launch/cluster.env.example for the known ones."
            raise SettingsError(f"{env_file}:{line} sets unknown launcher setting {key}; {fix}")
        if is_secret_name(key):
            raise SettingsError(
                f"{env_file}:{line} sets {key}, which looks like a secret; export it in your shell instead "
                "(secrets never go in files or on command lines)."
            )


def split_words(name: str, text: str | None) -> list[str]:
    """Shell words of a pass-through setting or flag (``--sbatch-args``, ``--data-args``...); one sentence if bad."""
    try:
        return shlex.split(text or "")
    except ValueError as err:
        raise SettingsError(f"{name} has an unbalanced quote ({str(err).lower()}); close every quote, e.g. "
                            f"{name} \"--inputs 'my pairs.jsonl'\".") from None


def switch(name: str, value: str | None) -> bool:
    """A yes/no variable such as ``VALIDATE``: the usual spellings, anything else refused (never guessed)."""
    word = (value or "").strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise SettingsError(f"{name} is {value!r}; set it to 1/true/yes/on or 0/false/no/off (or unset it).")


def flag_dest(knob: Knob) -> str:
    """The argparse destination of a knob's flag."""
    return knob.flag.lstrip("-").replace("-", "_")


def effective_python(settings: Settings, current: str) -> str:
    """The Python every node runs: RMR1_PYTHON or ``current`` (the launcher's own interpreter)."""
    return settings.get("RMR1_PYTHON") or current


def absolute(path: str, cwd: str | os.PathLike[str]) -> str:
    """``path`` made absolute against ``cwd`` (a job's nodes do not share the submitter's working directory)."""
    return os.path.normpath(os.path.join(os.fspath(cwd), os.path.expanduser(path)))
