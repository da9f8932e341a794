"""The prompt module: template validation, versioning, golden renderings, markers, the verdict contract."""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path

import pytest

from data_prep import prompts
from data_prep.pairs import make_pair
from data_prep.prompts import (
    CONVERSATION_MARKERS,
    PROMPT_VERSION,
    RESPONSE_MARKERS,
    VARIANTS,
    TemplateError,
    builtin_template,
    load_template,
    parse_template,
    render_pair,
    template_sha256,
)
from reward_fns import format_verdict, parse_verdict
from testkit.judge_texts import extract_candidates

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"  # regenerate: UPDATE_GOLDEN=1 pytest tests/test_prompts.py

SINGLE = make_pair(
    "golden",
    "At sea level, what temperature does water boil at in Celsius?",
    "Water boils at 100 °C at sea level.",
    "Water boils at 90 °C at sea level.",
    pair_id="golden-single",
)
MULTI = make_pair(
    "golden",
    [
        {"role": "user", "content": "I need a name for my new cat."},
        {"role": "assistant", "content": "Happy to help! What does your cat look like?"},
        {"role": "user", "content": "She is grey and very fluffy."},
    ],
    "How about Cloud? It suits a soft, grey, fluffy cat.",
    "Name her Cat.",
    pair_id="golden-multi",
)
MINIMAL = "=== user_single ===\nQ: {question}\nA: {answer_a}\nB: {answer_b}\nSay {verdict_a} or {verdict_b}.\n"


def _lock() -> dict[str, dict[str, str]]:
    text = resources.files("data_prep").joinpath("templates", "prompt_versions.json").read_text(encoding="utf-8")
    return {k: v for k, v in json.loads(text).items() if not k.startswith("_")}


def test_prompt_version_is_bumped_when_a_template_changes() -> None:
    lock = _lock()
    assert PROMPT_VERSION in lock, f"add {PROMPT_VERSION!r} with the new hashes to templates/prompt_versions.json"
    for variant in VARIANTS:
        assert builtin_template(variant).sha256 == lock[PROMPT_VERSION][variant], (
            f"the {variant} template (or the rendering settings) changed: bump PROMPT_VERSION and record the new "
            "hashes under it in data_prep/templates/prompt_versions.json"
        )


def test_recorded_versions_never_share_a_hash() -> None:
    hashes = [h for entry in _lock().values() for h in entry.values()]
    assert len(hashes) == len(set(hashes)), "two prompt versions record the same template hash"


def test_hash_covers_rendering_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    sections = {"user_single": MINIMAL}
    before = template_sha256(sections)
    monkeypatch.setattr(prompts, "CLIENT_NAME", "User")
    assert template_sha256(sections) != before


def test_builtin_templates_carry_the_version_and_shape() -> None:
    instruct, reasoning = builtin_template("instruct"), builtin_template("reasoning")
    assert instruct.version == reasoning.version == PROMPT_VERSION
    assert instruct.system is not None and reasoning.system is None
    for tag in ("<type>Reasoning</type>", "<type>Chat</type>", "<solution>", "<rubric>", "<justify>", "<eval>",
                "<quote_A>", "<summary_A>", "<quote_B>", "<summary_B>"):
        assert tag in (instruct.system or ""), tag


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        # no section header at all
        ("Just judge {question}", "no '=== user_single ===' header"),
        # a section name we do not know
        (MINIMAL + "=== assistant ===\nhi\n", "unknown or repeated section 'assistant'"),
        # the same section twice
        (MINIMAL + MINIMAL, "unknown or repeated section 'user_single'"),
        # single-turn text without the second answer
        ("=== user_single ===\n{question} {answer_a} {verdict_a} {verdict_b}", "lacks placeholders ['answer_b']"),
        # a typo in a placeholder name
        (MINIMAL.replace("{answer_b}", "{answer_B}"), "unknown placeholders ['answer_B']"),
        # the verdict written literally instead of through reward_fns
        (MINIMAL.replace("{verdict_a}", "<answer>[[A]]</answer>"), "lacks placeholders ['verdict_a']"),
        # multi-turn section without a conversation placeholder
        (MINIMAL + "=== user_multi ===\n{conversation_a} {verdict_a} {verdict_b}", "['conversation_b']"),
        # content placeholders are not allowed in the system message
        ("=== system ===\n{question}\n" + MINIMAL, "section system uses unknown placeholders ['question']"),
    ],
)
def test_bad_templates_are_rejected_with_a_reason(text: str, fragment: str) -> None:
    with pytest.raises(TemplateError) as err:
        parse_template(text, origin="my.txt", name="custom")
    assert str(err.value).startswith("template my.txt") and fragment in str(err.value)


def test_verdict_placeholders_may_live_in_the_system_message() -> None:
    text = "=== system ===\nEnd with {verdict_a} or {verdict_b}.\n=== user_single ===\n{question}|{answer_a}|{answer_b}"
    template = parse_template(text, origin="t", name="t")
    messages = render_pair(template, SINGLE, "A")
    assert messages[0] == {"role": "system", "content": f"End with {format_verdict('A')} or {format_verdict('B')}."}
    assert messages[1]["content"].startswith(SINGLE.conversation[0]["content"])


def test_template_file_hash_becomes_the_version(tmp_path: Path) -> None:
    path = tmp_path / "released.txt"
    path.write_text("This comment is ignored.\n" + MINIMAL, encoding="utf-8")
    template = load_template(path)
    assert template.version == f"file-{template.sha256[:12]}" and template.name == "released"
    path.write_text("Another comment.\n" + MINIMAL, encoding="utf-8")
    assert load_template(path).version == template.version  # comments do not change the prompt
    path.write_text(MINIMAL.replace("Q:", "Question:"), encoding="utf-8")
    assert load_template(path).version != template.version
    with pytest.raises(TemplateError, match="does not exist"):
        load_template(tmp_path / "missing.txt")


def test_multi_turn_pair_needs_a_multi_turn_section() -> None:
    template = parse_template(MINIMAL, origin="single-only.txt", name="t")
    with pytest.raises(TemplateError, match="no user_multi section"):
        render_pair(template, MULTI, "A")


def test_placeholders_inside_content_are_not_expanded() -> None:
    tricky = make_pair("demo", "Explain {answer_b} and {verdict_a} in str.format", "It is a field.", "No idea.")
    content = render_pair(builtin_template("reasoning"), tricky, "A")[0]["content"]
    assert "Explain {answer_b} and {verdict_a} in str.format" in content


@pytest.mark.parametrize("variant", VARIANTS)
def test_verdict_instruction_comes_from_reward_fns(variant: str) -> None:
    text = "\n".join(m["content"] for m in render_pair(builtin_template(variant), SINGLE, "A"))
    assert format_verdict("A") in text and format_verdict("B") in text
    assert "{verdict" not in text
    if variant == "reasoning":  # the reasoning prompt ENDS with the verdict-format instruction
        assert text.rstrip(".").endswith("better")
        assert text.rfind(format_verdict("B")) > text.rfind("[The End of Chatbot B's Response]")


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("pair", [SINGLE, MULTI], ids=["single", "multi"])
def test_golden_rendering_with_the_tiny_chat_template(variant: str, pair, tiny_tokenizer) -> None:
    messages = render_pair(builtin_template(variant), pair, "B")
    text = tiny_tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    kind = "multi" if pair.is_multi_turn else "single"
    golden = GOLDEN / f"prompt_{variant}_{kind}.txt"
    if UPDATE:
        golden.write_text(text, encoding="utf-8")
    assert golden.is_file(), f"missing {golden.name}: run UPDATE_GOLDEN=1 pytest {Path(__file__).name}"
    assert text == golden.read_text(encoding="utf-8"), f"rendering changed: review and run UPDATE_GOLDEN=1 ({golden})"


def test_multi_turn_roles_are_neutral_and_per_side() -> None:
    user = render_pair(builtin_template("instruct"), MULTI, "A")[1]["content"]
    conv_a, conv_b = extract_candidates(user)
    assert conv_a.startswith("Client: I need a name for my new cat.\n\nChatbot A: Happy to help!")
    assert conv_a.endswith("Chatbot A: How about Cloud? It suits a soft, grey, fluffy cat.")
    assert conv_b.endswith("Chatbot B: Name her Cat.") and "Chatbot A" not in conv_b
    assert "user:" not in user.lower() and "assistant" not in user.lower()


@pytest.mark.parametrize("variant", VARIANTS)
def test_markers_frame_the_candidates(variant: str) -> None:
    single = render_pair(builtin_template(variant), SINGLE, "B")[-1]["content"]
    for label, (start, end) in RESPONSE_MARKERS.items():
        assert single.count(start) == single.count(end) == 1, label
    assert extract_candidates(single) == (SINGLE.rejected[0]["content"], SINGLE.chosen[0]["content"])
    multi = render_pair(builtin_template(variant), MULTI, "A")[-1]["content"]
    assert all(multi.count(s) == multi.count(e) == 1 for s, e in CONVERSATION_MARKERS.values())


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_prompt_itself_never_reads_as_a_verdict(variant: str) -> None:
    """Both verdicts appear in the instruction, so a judge that parrots it gets no reward."""
    text = "\n".join(m["content"] for m in render_pair(builtin_template(variant), SINGLE, "A"))
    assert not parse_verdict(text, "strict").ok and not parse_verdict(text, "lenient").ok
