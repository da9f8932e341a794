"""eval/released_template.py: a --prompt-template file cut out of a released RL set (synthetic rows, exact schema).

The rows imitate upstream's framing with made-up instructions (this repository ships none of
upstream's prose). The extracted template must re-render the released single-turn prompt exactly,
and a judge run with it must send the released text.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from data_prep.pairs import make_pair
from data_prep.prompts import load_template, parse_template, render_pair
from eval import released_template
from eval.errors import EvalError

SYSTEM = ("Synthetic judge instructions. Classify the task, then compare. Finish with <answer>[[A]]</answer> if "
          "Chatbot A is better or <answer>[[B]]</answer> if Chatbot B is better.")
SINGLE = ("[Client Question]\nWhat is 6 times 7?\n\n[The Start of Chatbot A's Response]\n42.\n[The End of Chatbot A's "
          "Response]\n\n[The Start of Chatbot B's Response]\n48.\n[The End of Chatbot B's Response]")
MULTI = ("[The Start of the Conversation between Chatbot A and the Client]\nUser: Hi.\nChatbot A: Hello!\nUser: Name a "
         "fruit.\nChatbot A: Apple.\n[The End of the Conversation between Chatbot A and the Client]\n\n[The Start of "
         "the Conversation between Chatbot B and the Client]\nUser: Hi.\nChatbot B: Hello!\nUser: Name a fruit.\n"
         "Chatbot B: Carrot.\n[The End of the Conversation between Chatbot B and the Client]")
LEAKY = MULTI.replace("Chatbot B: Carrot.", "Chabot B: Carrot.")  # upstream's label-leak misspelling


def rows(*users: str, system: bool = True) -> list[dict]:
    head = [{"role": "system", "content": SYSTEM}] if system else []
    return [{"context_messages": [*head, {"role": "user", "content": u}], "winner": "model_a"} for u in users]


def test_instruct_template_reproduces_the_released_prompt(tmp_path: Path) -> None:
    data = tmp_path / "rl.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows(LEAKY, SINGLE, MULTI)) + "\n")
    out = tmp_path / "template.txt"
    assert released_template.main(["--data", str(data), "--out", str(out)]) == 0
    template = load_template(out)
    assert "{verdict_a}" in template.system and "[[A]]" not in template.system
    pair = make_pair("t", "What is 6 times 7?", "42.", "48.")
    assert render_pair(template, pair, "A") == rows(SINGLE)[0]["context_messages"]  # byte for byte
    assert "from row 3" in out.read_text()  # the multi-turn section skips the misspelled row 1
    assert "{conversation_a}" in template.user_multi and "User: Hi." not in template.user_multi


def test_reasoning_template_has_no_system_message(tmp_path: Path) -> None:
    user = ("Please judge.\n\n" + SINGLE + "\n\nAnswer '<answer>[[A]]</answer>' or '<answer>[[B]]</answer>'.")
    text = released_template.build_template(rows(user, system=False), "local")
    assert "=== system ===" not in text and "=== user_multi ===" not in text
    template = parse_template(text, origin="t", name="t")
    assert render_pair(template, make_pair("t", "What is 6 times 7?", "42.", "48."), "A") == \
        rows(user, system=False)[0]["context_messages"]


@pytest.mark.parametrize("data, message", [
    (rows(MULTI), "no single-turn row"),  # nothing to cut the single-turn sections from
    ([{"winner": "model_a"}], "no context_messages"),  # not a released RL row
    ([{"context_messages": [{"role": "user", "content": SINGLE}], "winner": "model_a"}], "verdict"),  # no verdicts
])
def test_unusable_sets_are_one_sentence_errors(data: list, message: str) -> None:
    with pytest.raises(EvalError, match=message):
        released_template.build_template(data, "local")
