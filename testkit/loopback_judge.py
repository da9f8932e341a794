"""A scripted judge behind a real chat-completions HTTP server on 127.0.0.1, for tests and the preflight.

Standard library only (``http.server``): it starts in milliseconds, binds a free port synchronously
(so ``base_url`` is known before the first request), needs no event loop, and can misbehave at the
socket level (connection resets, truncated JSON) in ways a framework would tidy up.

>>> from infra.chat_client import chat_batch
>>> prompt = [{"role": "user", "content": "Which is better?"}]
>>> with LoopbackJudge("always_b", faults=[Fault.rate_limit(0.05)]) as judge:  # 429 first, then an answer
...     batch = chat_batch([prompt], base_url=judge.base_url, model=judge.model)
...     (batch.results[0].text[-22:], judge.call_count)
('<answer>[[B]]</answer>', 2)

Behaviour: POST ``/v1/chat/completions`` runs the policy on the last user message and answers with a
full chat-completions JSON (``usage`` counts whitespace-separated words as tokens; ``max_tokens`` cuts
the text and sets ``finish_reason="length"``). GET ``/v1/models`` lists the served model. A request
naming another model gets OpenAI's 404 ``model_not_found``; ``listing`` adds fields to the model's
listing entry (vLLM lists ``root``, the checkpoint it serves); with ``api_key`` set, a request without
``Authorization: Bearer <key>`` gets 401 whose message echoes the received key, as some servers do, so
tests can check that clients redact it. Faults are scripted by arrival order: ``faults[i]`` applies to
the i-th chat request (a callable ``index -> Fault | None`` works too).

CLI: ``python -m testkit.loopback_judge --policy always_a --port 0`` prints its base URL on the first line
of stdout and serves until SIGINT/SIGTERM (or ``--max-seconds``, saying so on stderr). ``--policy cor``
is the scripted Chain-of-Rubrics teacher of :mod:`testkit.cor_policies` (complete traces for distillation).
"""

from __future__ import annotations

import errno
import json
import os
import signal
import socket
import struct
import sys
import threading
import time
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from infra.cli_errors import OneLineParser, UserError, run_cli
from testkit.loopback_policies import POLICY_NAMES, ExtractionError, Policy, make_policy
from testkit.loopback_protocol import (
    CallRecord,
    Fault,
    FaultSchedule,
    completion_body,
    error_body,
    json_object,
    last_user_message,
)

CHAT_PATH = "/v1/chat/completions"
MODELS_PATH = "/v1/models"
__all__ = ["CHAT_PATH", "MODELS_PATH", "CallRecord", "Fault", "LoopbackJudge", "main"]


class LoopbackJudge:
    """The scripted judge server; a context manager that starts on enter and stops on exit."""

    def __init__(
        self,
        policy: Policy | str = "always_a",
        *,
        model: str | None = "loopback-judge",
        api_key: str | None = None,
        faults: FaultSchedule = (),
        delay_s: float = 0.0,
        port: int = 0,
        listing: dict | None = None,
    ) -> None:
        self.policy: Policy = make_policy(policy) if isinstance(policy, str) else policy
        self.model = model
        self._api_key = api_key
        self._faults = faults
        self.delay_s = delay_s
        self._port = port
        self.listing = dict(listing or {})  # more fields of the model's /v1/models entry, e.g. vLLM's root
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._calls: list[CallRecord] = []
        self._arrivals = 0
        self._in_flight = 0
        self.max_in_flight = 0
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/v1``: what an OpenAI-compatible client takes as its base URL."""
        if self._httpd is None:
            raise RuntimeError("the loopback judge is not running; use it as a context manager or call start().")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def respond(self, prompt: str, request: dict) -> str:
        """The answer to one chat request: the policy's, from the last user message (subclasses may read the
        request body, e.g. its per-request seed: testkit.scaling_judges)."""
        return self.policy(prompt)

    @property
    def calls(self) -> list[CallRecord]:
        """The chat requests answered so far, in completion order (a copy)."""
        with self._lock:
            return list(self._calls)

    @property
    def call_count(self) -> int:
        with self._lock:
            return self._arrivals

    def reset(self) -> None:
        """Forget calls and restart the fault schedule and the in-flight maximum."""
        with self._lock:
            self._calls.clear()
            self._arrivals = 0
            self.max_in_flight = self._in_flight

    def start(self) -> LoopbackJudge:
        handler = type("Handler", (_Handler,), {"judge": self})
        self._httpd = _Server(("127.0.0.1", self._port), handler)
        self._stopping.clear()
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._stopping.set()  # wakes handlers sleeping in slow faults
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None

    def __enter__(self) -> LoopbackJudge:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:  # never shows the key
        state = self.base_url if self._httpd else "stopped"
        return f"LoopbackJudge({state}, model={self.model!r}, calls={self.call_count})"

    # --- used by the handler -------------------------------------------------------------------
    def _arrive(self) -> tuple[int, Fault | None]:
        with self._lock:
            index = self._arrivals
            self._arrivals += 1
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        if callable(self._faults):
            return index, self._faults(index)
        return index, self._faults[index] if index < len(self._faults) else None

    def _leave(self, record: CallRecord) -> None:
        with self._lock:
            self._in_flight -= 1
            self._calls.append(record)

    def _sleep(self, seconds: float) -> None:
        self._stopping.wait(seconds)

    def _authorized(self, header: str | None) -> bool:
        return self._api_key is None or header == f"Bearer {self._api_key}"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the default backlog of 5 drops connections under a concurrency test


class _Handler(BaseHTTPRequestHandler):
    judge: LoopbackJudge
    protocol_version = "HTTP/1.1"
    timeout = 30  # a stuck client cannot hold a handler thread forever

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: tests grep captured output, and per-request lines are noise."""

    def do_GET(self) -> None:
        if self.path.rstrip("/") == MODELS_PATH:
            entry = {**self.judge.listing, "id": self.judge.model, "object": "model"}
            models = [] if self.judge.model is None else [entry]
            self._send_json(200, {"object": "list", "data": models})
        else:
            self._send_error(404, f"no route GET {self.path}", "not_found")

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.rstrip("/") != CHAT_PATH:
            self._send_error(404, f"no route POST {self.path}; the chat path is {CHAT_PATH}", "not_found")
            return
        index, fault = self.judge._arrive()
        started, status, prompt, model = time.monotonic(), 0, None, None
        try:
            request = json_object(body)
            model = request.get("model") if request else None
            prompt = last_user_message(request) if request else None
            status = self._answer(index, fault, request, prompt)
        finally:
            kind = fault.kind if fault else None
            self.judge._leave(CallRecord(index, model, prompt, status, kind, started, time.monotonic()))

    def _answer(self, index: int, fault: Fault | None, request: dict | None, prompt: str | None) -> int:
        """Send the response for one chat request; returns the status sent (0 for a reset)."""
        judge = self.judge
        if fault and fault.kind == "reset":
            return self._reset()
        if fault and fault.kind == "rate_limit":
            headers = {"Retry-After": f"{fault.seconds:g}"}
            return self._send_error(429, "Rate limit reached; retry after the delay.", "rate_limit_exceeded", headers)
        if fault and fault.kind == "server_error":
            return self._send_error(fault.status, "The scripted server failed.", "server_error")
        judge._sleep(judge.delay_s + (fault.seconds if fault and fault.kind == "slow" else 0.0))
        if fault and fault.kind == "malformed_json":
            return self._send_raw(200, b'{"id": "chatcmpl-loopback", "choices": [{"message": {"content": "<answ')
        if not judge._authorized(self.headers.get("Authorization")):
            received = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
            return self._send_error(401, f"Incorrect API key provided: {received}.", "invalid_api_key")
        if request is None or prompt is None:
            return self._send_error(400, "The body must be JSON with a user message in 'messages'.", "invalid_request")
        if judge.model is not None and request.get("model") != judge.model:
            return self._send_error(404, f"The model `{request.get('model')}` does not exist.", "model_not_found")
        try:
            text = judge.respond(prompt, request)
        except ExtractionError as err:
            return self._send_error(400, str(err), "invalid_request")
        cut = None
        if fault and fault.kind == "truncated":
            cut = len(text) // 2 if fault.keep_chars is None else fault.keep_chars
        choices = fault.keep_chars if fault and fault.kind == "extra_choices" else None
        return self._send_json(200, completion_body(index, request, text, cut, choices))

    def _send_error(self, status: int, message: str, code: str, headers: dict[str, str] | None = None) -> int:
        return self._send_json(status, error_body(message, code), headers)

    def _send_json(self, status: int, payload: dict, headers: dict[str, str] | None = None) -> int:
        return self._send_raw(status, json.dumps(payload).encode("utf-8"), headers)

    def _send_raw(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> int:
        # Connection: close on every answer, so a stopped server never answers on a kept-alive socket.
        extra = {"Content-Type": "application/json", "Connection": "close", **(headers or {})}
        try:
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (its timeout): not our error
            self.close_connection = True
        return status

    def _reset(self) -> int:
        # SO_LINGER with a zero timeout makes close() send RST: the client sees a connection reset.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()
        return 0


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point: serve a scripted judge and print its base URL."""
    parser = OneLineParser(prog="python -m testkit.loopback_judge", description=__doc__.splitlines()[0])
    parser.add_argument("--policy", choices=(*POLICY_NAMES, "cor"), default="always_a")
    parser.add_argument("--marker", help="marker string for --policy marker")
    parser.add_argument("--fallback", choices=("A", "B"), default="A", help="label when the policy cannot decide")
    parser.add_argument("--text", help="the fixed answer for --policy fixed")
    parser.add_argument("--no-reasoning", action="store_true", help="answer with the bare verdict")
    parser.add_argument("--model", default="loopback-judge", help="served model name (requests must match)")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds to wait before every answer")
    parser.add_argument("--fault", action="append", default=[], help="fault for the next call, in order (repeatable)")
    parser.add_argument("--api-key-env", help="require the key held in this environment variable")
    parser.add_argument("--max-seconds", type=float, help="stop after this long (default: serve until stopped)")
    args = parser.parse_args(argv)
    try:
        policy = _cor_teacher() if args.policy == "cor" else make_policy(
            args.policy, marker=args.marker, fallback=args.fallback, text=args.text, reasoning=not args.no_reasoning
        )
        faults = [Fault.parse(spec) for spec in args.fault]
        api_key = _key_from_env(args.api_key_env)
    except ValueError as err:
        parser.error(str(err))
    done = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: done.set())
    judge = LoopbackJudge(policy, model=args.model, api_key=api_key, faults=faults, delay_s=args.delay, port=args.port)
    try:
        judge.start()
    except OSError as err:
        if err.errno != errno.EADDRINUSE:
            raise
        raise UserError(f"--port {args.port} is already in use; pass --port 0 to take a free port.") from None
    try:
        print(judge.base_url, flush=True)
        if not done.wait(args.max_seconds):
            print(f"loopback judge: stopped after --max-seconds {args.max_seconds:g}.", file=sys.stderr)
    finally:
        judge.stop()
    return 0


def _cor_teacher() -> Policy:
    # Imported on demand: the CoR teacher pulls in the data writers, which the other policies do not need.
    from testkit.cor_policies import cor_judge

    return cor_judge()


def _key_from_env(name: str | None) -> str | None:
    if name is None:
        return None
    key = os.environ.get(name)
    if not key:
        raise ValueError(f"environment variable {name} is empty or unset; export the key there first.")
    return key


if __name__ == "__main__":
    sys.exit(run_cli(main, prog="python -m testkit.loopback_judge"))
