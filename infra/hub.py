"""What every package needs to know about Hugging Face hub names and offline mode, and the one hub reader.

:func:`snapshot` is how every package reads a hub dataset (mix sources, benchmark prompts for
decontamination, the eval benchmarks): its data files at a revision, fetched into the usual HF cache,
or read only from that cache when ``HF_HUB_OFFLINE=1``. Rows are then read from the files like any
local copy, so a hub run and a run on a downloaded snapshot are the same code.

>>> looks_like_hub_id("Qwen/Qwen2.5-7B-Instruct"), looks_like_hub_id("data/rm_r1"), looks_like_hub_id("x.jsonl")
(True, True, False)
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from infra.cli_errors import RunFailed

# owner/name: each part starts with a letter or digit, then letters, digits, '_', '.' or '-'.
HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")
OFFLINE_VARIABLES: tuple[str, ...] = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
_TRUE = frozenset({"1", "true", "yes", "on"})


def looks_like_hub_id(text: str) -> bool:
    """True for ``owner/name``. A local path of that shape also matches: check the disk first."""
    return bool(HUB_ID.match(text))


def is_offline() -> bool:
    """True when the environment tells Hugging Face libraries not to use the network."""
    return any(os.environ.get(name, "").strip().lower() in _TRUE for name in OFFLINE_VARIABLES)


class HubUnavailable(Exception):
    """A hub dataset could not be read; ``reason`` is one line, ``offline`` says the cache was the only source."""

    def __init__(self, name: str, revision: str | None, reason: str, offline: bool) -> None:
        super().__init__(f"{name}@{revision}: {reason}")
        self.reason, self.offline = reason, offline


def snapshot(name: str, revision: str | None, suffixes: Sequence[str]) -> Path:
    """The local folder of hub dataset ``name`` at ``revision`` (None: the default branch), data files only."""
    from huggingface_hub import snapshot_download

    offline = is_offline()
    try:
        return Path(snapshot_download(name, repo_type="dataset", revision=revision, local_files_only=offline,
                                      allow_patterns=[f"*{s}" for s in suffixes]))
    except Exception as err:  # hub errors come in many types (offline cache miss, missing repo, network)
        first = (str(err).splitlines() or [""])[0][:200]
        if not offline and _unreachable(err):
            raise HubUnreachable(
                f"could not reach the Hugging Face hub for dataset {name!r} ({type(err).__name__}: {first[:120]}); "
                "check the network, or work offline: set HF_HUB_OFFLINE=1 to read the local cache, or pass a local "
                "copy of its files.") from None
        raise HubUnavailable(name, revision, f"{type(err).__name__}: {first}", offline) from err


class HubUnreachable(RunFailed):
    """The hub could not be reached (no network, DNS, a proxy, a timeout): a failed run, exit 1, one sentence."""


# Transport failures of httpx, requests and the socket layer, by name: no import of either library here.
_NETWORK_ERRORS = frozenset({"ConnectError", "ConnectTimeout", "ReadTimeout", "TimeoutException", "NetworkError",
                             "ProxyError", "ConnectionError", "Timeout", "gaierror", "TimeoutError",
                             "ConnectionRefusedError"})


def _unreachable(err: BaseException) -> bool:
    """True when ``err`` or what caused it is a network failure (the hub wraps it in its own error types)."""
    seen: BaseException | None = err
    while seen is not None:
        if type(seen).__name__ in _NETWORK_ERRORS:
            return True
        seen = seen.__cause__ or seen.__context__
    return False
