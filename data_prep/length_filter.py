"""Drop pairs whose judge prompt is longer than the trainer's ``data.max_prompt_length``.

Lengths are counted exactly as verl's ``RLHFDataset`` counts them when ``filter_overlong_prompts`` is
on: ``apply_chat_template(messages, add_generation_prompt=True, tokenize=True, **chat_template_kwargs)``.
A pair is kept only if BOTH A/B orders fit, so filtering happens before placement and cannot upset
the A/B balance, and verl's own filter then drops nothing.

Many pairs at once (:meth:`PromptLengthFilter.longest_of_chunk`): transformers' ``tokenize=True`` is the
chat template rendered to text and then encoded with ``add_special_tokens=False``; we do the same per
chunk with the Rust batch encoder (:func:`batch_encoder`), keeping only the counts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any

from data_prep.errors import DataPrepError
from data_prep.pairs import PreferencePair
from data_prep.prompts import PromptTemplate, render_pair
from data_prep.source_files import files_sha256
from reward_fns import LABELS

DEFAULT_CHUNK = 256  # pairs per batch: 512 prompts of ~10 KB, small next to the tokenizer itself
# Files that decide how text becomes tokens (and the chat template); weights and configs do not.
_TOKENIZER_FILES = frozenset({"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
                              "vocab.json", "vocab.txt", "merges.txt", "tokenizer.model", "spiece.model",
                              "chat_template.jinja", "chat_template.json"})

class TokenizerError(DataPrepError):
    """The tokenizer cannot be loaded or used; the message names it and the fix."""


def load_tokenizer(name_or_path: str) -> Any:
    """A Hugging Face tokenizer from a local folder, or a hub name already in the local cache.

    Never downloads: data prep must not reach the network behind the user's back.
    """
    from transformers import AutoTokenizer

    local = Path(name_or_path).is_dir()
    try:
        tokenizer = AutoTokenizer.from_pretrained(name_or_path, local_files_only=not local)
    except (OSError, ValueError) as err:
        raise TokenizerError(
            f"tokenizer {name_or_path!r} is neither a model folder nor in the local hub cache; pass a folder "
            f"holding the tokenizer files (or fetch it first: huggingface-cli download {name_or_path})."
        ) from err
    if not getattr(tokenizer, "chat_template", None):
        raise TokenizerError(f"tokenizer {name_or_path!r} has no chat template; use the judge model's own tokenizer.")
    return tokenizer


def tokenizer_name(name_or_path: str) -> str:
    """How manifests name a tokenizer: a hub name as given, a folder relative to the working directory,
    a hub-cache snapshot by its hub name, any other folder by its own name (never a machine's absolute path)."""
    folder = Path(name_or_path)
    if not folder.is_dir():
        return name_or_path
    resolved = folder.resolve()
    try:
        return resolved.relative_to(Path.cwd().resolve()).as_posix() or "."
    except ValueError:
        pass
    parts = resolved.parts
    for i, part in enumerate(parts[:-2]):
        if part.startswith("models--") and parts[i + 1] == "snapshots":  # .../models--Owner--Name/snapshots/REV
            return part[len("models--"):].replace("--", "/")
    return resolved.name


def tokenizer_sha256(tokenizer: Any) -> str | None:
    """sha256 over the loaded tokenizer's own files (name and hash of each), or None if they cannot be found."""
    name = str(getattr(tokenizer, "name_or_path", "") or "")
    folder = Path(name) if Path(name).is_dir() else _cached_snapshot(name)
    if folder is None:
        return None
    files = sorted(p for p in folder.iterdir() if p.is_file() and (p.name in _TOKENIZER_FILES
                                                                   or p.name.startswith("tokenizer")))
    return files_sha256(folder, files) if files else None


def _cached_snapshot(name: str) -> Path | None:
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(name, local_files_only=True))
    except Exception:  # not a hub name, not cached, or no huggingface_hub: the manifest says null
        return None


def length_stats(lengths: Iterable[int], limit: int | None) -> dict[str, int | None]:
    """min / median / p99 / max prompt tokens (nearest rank), how many pairs and how many are over ``limit``."""
    ordered = sorted(lengths)
    if not ordered:
        return {"pairs": 0, "min": None, "median": None, "p99": None, "max": None, "limit": limit, "over_limit": 0}

    def rank(q: float) -> int:
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)]

    over = sum(n > limit for n in ordered) if limit is not None else 0
    return {"pairs": len(ordered), "min": ordered[0], "median": rank(0.5), "p99": rank(0.99), "max": ordered[-1],
            "limit": limit, "over_limit": over}


def token_ids(value: Any) -> list[int]:
    """Token ids from whatever ``apply_chat_template(tokenize=True)`` returns in this transformers."""
    ids = value["input_ids"] if isinstance(value, Mapping) or hasattr(value, "input_ids") else value
    if hasattr(ids, "tolist"):
        ids = ids.tolist()
    if len(ids) == 1 and isinstance(ids[0], list | tuple):
        ids = ids[0]
    return [int(i) for i in ids]


class PromptLengthFilter:
    """Measures rendered judge prompts in tokens, both A/B orders of a chunk of pairs in one batch."""

    def __init__(self, tokenizer: Any, max_prompt_length: int, chat_template_kwargs: Mapping[str, Any] | None = None):
        if max_prompt_length <= 0:
            raise ValueError(f"max_prompt_length {max_prompt_length} must be a positive number of tokens.")
        self.tokenizer = tokenizer
        self.max_prompt_length = max_prompt_length
        self.chat_template_kwargs = dict(chat_template_kwargs or {})
        self._encoder: Callable[[list[str]], list[int]] | None = None

    def longest_of_chunk(self, pairs: Sequence[PreferencePair], template: PromptTemplate) -> list[int]:
        """The longer of each pair's two renderings (chosen as A, chosen as B), from one batch encoding."""
        lengths = self.count_tokens(self.render_texts(pairs, template))
        return [max(lengths[i], lengths[i + 1]) for i in range(0, len(lengths), 2)]

    def render_texts(self, pairs: Sequence[PreferencePair], template: PromptTemplate) -> list[str]:
        """The chat-template text of both orders of every pair (A-first then B-first, pair by pair)."""
        conversations = [[dict(m) for m in render_pair(template, pair, label)] for pair in pairs for label in LABELS]
        if not conversations:
            return []
        return list(self.tokenizer.apply_chat_template(
            conversations, add_generation_prompt=True, tokenize=False, **self.chat_template_kwargs
        ))

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Token counts of rendered texts, as ``tokenizer(text, add_special_tokens=False)`` gives them."""
        if self._encoder is None:
            self._encoder = batch_encoder(self.tokenizer)
        return self._encoder(texts)


def batch_encoder(tokenizer: Any) -> Callable[[list[str]], list[int]]:
    """A function giving token counts of texts exactly as the tokenizer's own call would.

    Fast tokenizers use the Rust batch encoder on a private copy of the backend with truncation and
    padding off (as ``apply_chat_template`` calls it) and the same special-token splitting; other
    tokenizers fall back to the Python call.
    """
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return lambda texts: [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]
    split_special = bool(getattr(tokenizer, "split_special_tokens", False))
    if backend.truncation is not None or backend.padding is not None or backend.encode_special_tokens != split_special:
        from tokenizers import Tokenizer

        backend = Tokenizer.from_str(backend.to_str())
        backend.no_truncation()
        backend.no_padding()
        backend.encode_special_tokens = split_special
    encode = getattr(backend, "encode_batch_fast", backend.encode_batch)  # _fast skips char offsets
    return lambda texts: [len(e) for e in encode(texts, add_special_tokens=False)]


class BackgroundLengths:
    """The longer A/B prompt length of every added pair, per variant, measured in a helper thread.

    Tokenization is the build's one big cost and runs in Rust with the GIL released, while reading,
    cleaning and decontaminating are Python on one core: every ``DEFAULT_CHUNK`` added pairs go to the
    helper, so the two overlap. Use as a context manager; :meth:`add` pairs, then :meth:`lengths` waits.
    """

    def __init__(self, length_filter: PromptLengthFilter, templates: Mapping[str, PromptTemplate]) -> None:
        self.length_filter = length_filter
        self.templates = dict(templates)
        self._buffer: list[PreferencePair] = []
        self._pending: list[tuple[list[PreferencePair], Future[dict[str, list[int]]]]] = []
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="measure")

    def __enter__(self) -> BackgroundLengths:
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def add(self, pair: PreferencePair) -> None:
        """Queue ``pair``; a full chunk goes to the helper thread."""
        self._buffer.append(pair)
        if len(self._buffer) >= DEFAULT_CHUNK:
            self._submit()

    def lengths(self, on_chunk: Callable[[int], None] | None = None) -> dict[str, dict[str, int]]:
        """``{variant: {pair id: longest prompt}}`` for every added pair (waits for the helper)."""
        self._submit()
        out: dict[str, dict[str, int]] = {variant: {} for variant in self.templates}
        for pairs, future in self._pending:
            for variant, lengths in future.result().items():
                out[variant].update(zip((p.id for p in pairs), lengths, strict=True))
            if on_chunk is not None:
                on_chunk(len(pairs))
        return out

    def queued(self) -> int:
        """Pairs added so far."""
        return sum(len(pairs) for pairs, _ in self._pending) + len(self._buffer)

    def _submit(self) -> None:
        if self._buffer:
            chunk, self._buffer = self._buffer, []
            self._pending.append((chunk, self._pool.submit(self._measure, chunk)))

    def _measure(self, pairs: list[PreferencePair]) -> dict[str, list[int]]:
        return {variant: self.length_filter.longest_of_chunk(pairs, template)
                for variant, template in self.templates.items()}
