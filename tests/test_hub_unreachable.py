"""An unreachable hub is a failed run (exit 1) in one sentence naming offline mode and local copies (issue 24 item 6).

It was exit 2 (bad input) after the hub's retries, worded as if the dataset name were wrong. A cache
miss in offline mode stays bad input: the fix is a local copy, not the network.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from huggingface_hub.errors import LocalEntryNotFoundError

from infra.hub import HubUnavailable, HubUnreachable, snapshot


def _raising(cause: BaseException):
    def download(*args, **kwargs):
        try:
            raise cause
        except BaseException as err:  # the hub wraps transport errors in its own type, as it does for real
            raise LocalEntryNotFoundError("An error happened while trying to locate the files on the Hub") from err
    return download


# (what the network did): each exited 2 as a bad dataset name before.
NETWORK = [
    httpx.ConnectError("[Errno -2] Name or service not known"),  # no DNS (the sandbox, a cluster node)
    httpx.ConnectTimeout("timed out"),  # a firewall that drops packets
    httpx.ProxyError("407 Proxy Authentication Required"),  # a proxy in the way
]


@pytest.mark.parametrize("cause", NETWORK)
def test_an_unreachable_hub_is_a_failed_run(monkeypatch, cause) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    monkeypatch.setattr("huggingface_hub.snapshot_download", _raising(cause))
    with pytest.raises(HubUnreachable) as caught:
        snapshot("org/data", "abc", [".parquet"])
    assert caught.value.exit_code == 1 and "HF_HUB_OFFLINE=1" in str(caught.value) and "local copy" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_cache_miss_in_offline_mode_stays_bad_input(monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.snapshot_download", _raising(httpx.ConnectError("offline")))
    with pytest.raises(HubUnavailable) as caught:
        snapshot("org/data", "abc", [".parquet"])
    assert caught.value.offline


def test_an_eval_cli_says_it_in_one_line_with_exit_1(tmp_path: Path, monkeypatch, capsys) -> None:
    from eval import rewardbench

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    monkeypatch.setattr("huggingface_hub.snapshot_download", _raising(httpx.ConnectError("no route")))
    code = rewardbench.main(["--variant", "instruct", "--base-url", "http://127.0.0.1:9/v1", "--model", "m",
                             "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert code == 1 and "could not reach the Hugging Face hub" in err and len(err.splitlines()) == 1
