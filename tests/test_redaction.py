"""Secret names and redaction: one rule for env files, overrides, logs, caches and reports."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infra.redaction import MASK, is_secret_name, redact, redact_then_cut, secret_values, strip_userinfo


@pytest.mark.parametrize(("name", "secret"), [
    ("OPENAI_API_KEY", True),  # the usual spelling
    ("OPENAI_APIKEY", True),  # no separator before KEY
    ("GH_PAT", True),  # a personal access token
    ("AWS_CREDENTIALS", True),  # plural credential
    ("aws-credential", True),  # dash separator, lower case
    ("hfToken", True),  # camelCase
    ("WANDB_API_KEY", True),  # the one the launcher's README mentions
    ("DB_PASSWORD", True),  # password
    ("SSH_KEY", True),  # KEY alone in an environment-style name
    ("wandb.api_key", True),  # a config key after "api"
    ("tokenizer_path", False),  # contains "token" but is a path
    ("max_tokens", False),  # a count of tokens
    ("data.prompt_key", False),  # verl's column name setting
    ("bypass_cache", False),  # contains "pass" inside a word
    ("RMR1_CPUS_PER_GPU", False),  # an ordinary launcher setting
    ("trainer.logger", False),  # an ordinary override
    ("PWD", False),  # the shell's working directory
    ("OLDPWD", False),  # the shell's previous working directory
    ("DB_PWD", True),  # a password spelled pwd
])
def test_secret_names(name: str, secret: bool) -> None:
    assert is_secret_name(name) is secret


def test_secret_values_longest_first() -> None:
    env = {"A_TOKEN": "abcd", "B_TOKEN": "abcdefgh", "PATH": "/usr/bin", "C_KEY": "xy"}
    assert secret_values(env) == ["abcdefgh", "abcd"]  # too-short values are not masked


def test_redact_before_cut_never_leaks_a_prefix() -> None:
    secret = "sk-" + "x" * 44
    text = "a" * 290 + secret + " tail"
    out = redact_then_cut(text, [secret], limit=300)
    assert "sk-x" not in out and "xxxx" not in out


@given(st.text(min_size=0, max_size=60), st.text(alphabet="abcdef0123456789", min_size=4, max_size=30),
       st.integers(min_value=0, max_value=120))
def test_no_part_of_a_secret_survives(prefix: str, secret: str, limit: int) -> None:
    out = redact_then_cut(prefix + secret + prefix, [secret], limit)
    assert secret not in out
    assert redact(prefix + secret, [secret, None]).endswith(MASK)


@pytest.mark.parametrize(("url", "clean"), [
    ("https://user:pw@api.example/v1", "https://api.example/v1"),  # user and password
    ("http://tok@127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1"),  # token as user, port kept
    ("http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1"),  # nothing to strip
    ("not a url", "not a url"),  # plain text unchanged
])
def test_strip_userinfo(url: str, clean: str) -> None:
    assert strip_userinfo(url) == clean
