"""infra.cli_flags and infra.user_json: the input vocabulary refuses bad values in one sentence, no traceback."""

from __future__ import annotations

import argparse
import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infra.cli_errors import OneLineParser, UserError
from infra.cli_flags import env_name, folder, json_object, number, path, seed, share_or_count, whole
from infra.user_json import BadJson, parse_json


@pytest.mark.parametrize(("kind", "text", "says"), [
    (number(above=0), "nan", "'nan' is not a finite number above 0"),  # NaN
    (number(least=0), "-inf", "is not a finite number of 0 or more"),  # infinity
    (number(least=0, below=1), "1", "of 0 or more and below 1"),  # an upper bound
    (whole(least=1), "0", "'0' is not a whole number of 1 or more"),  # under the least
    (whole(least=1, most=100), "101", "from 1 to 100"),  # over the most
    (whole(least=1), "9" * 5000, "(5,000 characters) is not a whole number"),  # past Python's int-digits limit
    (seed, str(2**63), "is not a whole number from 0 to 2**63-1"),  # does not fit parquet int64
    (share_or_count, "2.5", "neither a share below 1 nor a whole row count"),  # neither share nor count
    (json_object, '{"t": NaN}', "holds NaN, which is not a JSON number"),  # NaN in JSON (issue 19 item 4)
    (json_object, "[" * 100_000, "nests JSON arrays or objects too deeply"),  # recursion
    (json_object, '{"n": ' + "1" * 5000 + "}", "an integer of more than 4,300 digits"),  # digit limit
    (json_object, '{"s": "\\ud800"}', "lone surrogate"),  # a lone surrogate escape
    (json_object, "[1]", "is not a JSON object"),  # valid JSON, not an object
    (path, "", "is empty"),  # an unset shell variable
    (path, "x" * 300, "more than a file name can be"),  # ENAMETOOLONG later
    (folder, " ", "is empty; pass the output folder"),  # blank output folder
    (env_name, "sk-abc123SECRET", "is not shown"),  # a key pasted as the variable name: never echoed
])
def test_bad_values_are_one_sentence(kind, text, says) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as caught:
        kind(text)
    assert says in str(caught.value) and "\n" not in str(caught.value)
    assert "SECRET" not in str(caught.value)


def test_the_parser_raises_the_packages_error_class() -> None:
    class DemoError(UserError):
        pass

    parser = OneLineParser(prog="demo", error_class=DemoError)
    parser.add_argument("--seed", type=seed)
    with pytest.raises(DemoError, match=r"^argument --seed: '-1' is not a whole number from 0 to 2\*\*63-1; see demo"):
        parser.parse_args(["--seed", "-1"])


@given(st.text(max_size=30))
def test_number_is_finite_and_in_range_or_refused(text: str) -> None:
    try:
        value = number(least=0, below=1)(text)
    except argparse.ArgumentTypeError:
        return
    assert math.isfinite(value) and 0 <= value < 1


@given(st.text(max_size=25))
def test_whole_and_seed_are_in_range_or_refused(text: str) -> None:
    for kind, low, high in ((whole(least=-3, most=50), -3, 50), (seed, 0, 2**63 - 1)):
        try:
            value = kind(text)
        except argparse.ArgumentTypeError:
            continue
        assert isinstance(value, int) and low <= value <= high


@given(st.one_of(st.binary(max_size=60), st.text(max_size=60).map(lambda t: t.encode("utf-8", "surrogatepass"))))
def test_any_bytes_are_a_json_value_or_bad_json(raw: bytes) -> None:
    try:
        value = parse_json(raw)
    except BadJson as err:
        assert str(err) and "\n" not in str(err)
    else:
        json.dumps(value, allow_nan=False, ensure_ascii=False).encode("utf-8")  # storable: no NaN, no surrogate
