"""What counts as a secret, and how secrets are kept out of every text we print or store.

A *name* looks secret when one of its words (split at ``_ . - /``, spaces and camelCase) is a secret
word, or ends in one (``OPENAI_APIKEY``, ``GH_PAT``, ``AWS_CREDENTIALS``, ``hfToken``). ``key`` alone
counts in environment-style names (``MY_KEY``) and after words such as ``api`` or ``access``, but not in
config keys such as ``data.prompt_key``; words that merely *contain* a secret word (``tokenizer_path``,
``max_tokens``, ``bypass``) do not count.

>>> [n for n in ("OPENAI_APIKEY", "GH_PAT", "aws-credentials", "hfToken", "tokenizer_path",
...              "data.prompt_key", "max_tokens", "SSH_KEY") if is_secret_name(n)]
['OPENAI_APIKEY', 'GH_PAT', 'aws-credentials', 'hfToken', 'SSH_KEY']
>>> redact_then_cut("key=sk-abcdefgh rest", ["sk-abcdefgh"], limit=7)
'key=***…'
>>> strip_userinfo("https://user:pw@host.example/v1")
'https://host.example/v1'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit, urlunsplit

MASK = "***"
_SECRET_WORDS = ("token", "secret", "secrets", "password", "passwd", "passphrase", "pass", "pwd", "pat",
                 "credential", "credentials", "apikey", "privatekey", "accesskey", "auth")
_SECRET_SUFFIXES = ("apikey", "token", "secret", "password", "passwd", "credentials", "credential")
_KEY_AFTER = {"api", "access", "private", "secret", "ssh", "signing", "encryption", "master", "license",
              "service", "account", "client", "session", "auth", "openai", "anthropic", "hf", "wandb"}
_WORD_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")
_SHELL_NAMES = frozenset({"PWD", "OLDPWD"})  # the shell's working directories, not passwords
_MIN_SECRET_LEN = 4  # shorter values would mask ordinary words


def _words(name: str) -> list[str]:
    return [w.lower() for w in _WORD_SPLIT.split(name) if w]


def is_secret_name(name: str) -> bool:
    """True if ``name`` (an env variable, a config key, a flag) names a secret; see the module doc."""
    if name in _SHELL_NAMES:
        return False
    words = _words(name)
    env_style = name.upper() == name and "." not in name
    for i, word in enumerate(words):
        if word in _SECRET_WORDS or word.endswith(_SECRET_SUFFIXES):
            return True
        if word in ("key", "keys") and (env_style or (i > 0 and words[i - 1] in _KEY_AFTER)):
            return True
    return False


def secret_values(environ: Mapping[str, str]) -> list[str]:
    """The values of secret-looking variables in ``environ``, longest first (so none is half-masked)."""
    found = {v for k, v in environ.items() if is_secret_name(k) and len(v) >= _MIN_SECRET_LEN}
    return sorted(found, key=len, reverse=True)


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every occurrence of each secret (longest first) replaced by the mask."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def redact_then_cut(text: str, secrets: Iterable[str | None], limit: int) -> str:
    """Redact first, then cut to ``limit`` characters: a secret straddling the cut never leaks a prefix."""
    clean = redact(text, secrets)
    return clean if len(clean) <= limit else clean[:limit] + "…"


def strip_userinfo(url: str) -> str:
    """``url`` without ``user:password@``; other text is returned unchanged."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if not parts.netloc or "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))
