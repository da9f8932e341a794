"""A content fingerprint of a local checkpoint folder: what eval keys a local judge on and the model card checks.

It lives here (not in eval) so the export's model card can tell whether an eval summary judged its own
weights without importing eval.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

# Files whose bytes define a checkpoint's behaviour besides its weights.
_CARD_FILES = ("config.json", "generation_config.json", "tokenizer_config.json", "tokenizer.json",
               "chat_template.jinja", "special_tokens_map.json")
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".gguf")
_SAMPLE_BLOCKS = 64  # blocks read per weight file: any two training steps differ in every one of them
_BLOCK = 1 << 16


def checkpoint_fingerprint(path: str | os.PathLike[str]) -> str:
    """A content fingerprint of a local checkpoint folder, cheap enough to compute on every run.

    Hashes the config, generation-config and tokenizer files in full, and for every weight file its
    name, size and ``_SAMPLE_BLOCKS`` evenly spaced 64 KiB blocks (start and end included). Two
    checkpoints of one training run share names, sizes and headers but differ in every block, so they
    never share cache entries; the folder's own path plays no part.
    """
    folder = Path(path)
    digest = hashlib.sha256(b"checkpoint-fingerprint-v1")
    for name in _CARD_FILES:
        file = folder / name
        if file.is_file():
            digest.update(name.encode() + b"\0" + file.read_bytes() + b"\0")
    weights = sorted(p for p in folder.rglob("*") if p.is_file() and p.name.endswith(_WEIGHT_SUFFIXES))
    for file in weights:
        size = file.stat().st_size
        digest.update(f"{file.relative_to(folder).as_posix()}\0{size}\0".encode())
        with open(file, "rb") as handle:
            for offset in _sample_offsets(size):
                handle.seek(offset)
                digest.update(handle.read(_BLOCK))
    return digest.hexdigest()


def _sample_offsets(size: int) -> list[int]:
    if size <= _BLOCK * _SAMPLE_BLOCKS:
        return list(range(0, size, _BLOCK))
    last = size - _BLOCK
    return sorted({round(i * last / (_SAMPLE_BLOCKS - 1)) for i in range(_SAMPLE_BLOCKS)})
