"""An in-process scripted judge: the loopback server's policies without HTTP (benchmarks and unit tests).

It answers every request instantly with ``policy(last user message)``, so timing the runner with it
measures everything except generation. End-to-end tests use the real HTTP loopback server instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eval.backends.base import Generation, Messages, OnResult, Request, Sampling
from testkit.loopback_policies import Policy, make_policy


class ScriptedBackend:
    """Runs a loopback policy on each request; ``calls`` counts requests answered."""

    name = "scripted"

    def __init__(self, policy: Policy | str = "always_a", *, model_name: str = "scripted-judge", **options: Any):
        self.policy: Policy = make_policy(policy, **options) if isinstance(policy, str) else policy
        self._model_id = f"scripted:{model_name}"
        self.calls = 0

    @property
    def model_id(self) -> str:
        return self._model_id

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "model": self._model_id}

    def context_limit(self) -> int | None:
        return None

    def prompt_tokens(self, messages: Messages) -> int | None:
        return None

    def generate(self, requests: Sequence[Request], sampling: Sampling, on_result: OnResult) -> None:
        for index, request in enumerate(requests):
            user = next(m["content"] for m in reversed(request.messages) if m["role"] == "user")
            self.calls += 1
            on_result(index, Generation(text=self.policy(user), finish_reason="stop"))

    def close(self) -> None:
        """Nothing to release."""
