"""What every package needs to know about Hugging Face hub names and offline mode (no network here).

>>> looks_like_hub_id("Qwen/Qwen2.5-7B-Instruct"), looks_like_hub_id("data/rm_r1"), looks_like_hub_id("x.jsonl")
(True, True, False)
"""

from __future__ import annotations

import os
import re

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
