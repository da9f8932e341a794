"""Write a --prompt-template file from upstream RM-R1's released RL data: the prompt its checkpoints were trained on.

    python eval/released_template.py --data gaotang/RM-R1-after-Distill-RLVR --out rm_r1_instruct.txt
    python eval/released_template.py --data gaotang/RM-R1-Reasoning-RLVR --out rm_r1_reasoning.txt
    python eval/run_all.py --base-url http://127.0.0.1:8000/v1 --model gaotang/RM-R1-Qwen2.5-Instruct-7B \\
        --prompt-template rm_r1_instruct.txt --data rmb=PATH/TO/RMB_dataset

This repository ships none of upstream's prose: the template is cut, on your machine, out of the
first rendered prompt of the released set you point --data at (a hub name, or a local .jsonl/.json/
.parquet copy; columns ``context_messages`` and ``winner``). From the first single-turn row: the
system message (instruct set) and the user message, with the question and the two answers replaced
by ``{question}``, ``{answer_a}``, ``{answer_b}``; from the first multi-turn row without upstream's
"Chabot" misspelling, the user message with the two conversation blocks' bodies replaced by
``{conversation_a}``, ``{conversation_b}``. Every ``<answer>[[A]]</answer>`` / ``<answer>[[B]]</answer>``
becomes ``{verdict_a}`` / ``{verdict_b}`` (the template format requires them). The result is checked
by re-rendering the single-turn row: it must reproduce the released messages exactly.
One known difference: multi-turn conversations are written with this repository's speaker names
(``Client:`` / ``Chatbot A:``), where upstream wrote ``User:``; single-turn prompts are identical.
Exit status: 0 written, 1 the write failed (a full disk), 2 a bad flag or input (one sentence), 130 interrupted.
"""

from __future__ import annotations

import sys

try:  # a Python without the project says so in one line, not a traceback (infra/environment.py)
    import infra.environment  # noqa: F401
except ModuleNotFoundError as err:
    print(f"{sys.argv[0]}: error: this Python ({sys.executable}) lacks {err.name!r}; run the project's own "
          "(.venv/bin/python after make setup, or pip install -e . in yours).", file=sys.stderr)
    raise SystemExit(2) from None

import argparse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from data_prep.distill.released_schema import QUESTION_HEADER, ReleasedDataError, has_label_leak, parse_prompt
from data_prep.prompts import TemplateError, parse_template, render_judge_prompt
from eval.benchmarks.sources import load_located
from eval.cli_common import EvalParser, check_out_file
from eval.errors import EvalError
from infra.atomic_files import write_text_atomic
from infra.cli_errors import run_cli
from infra.output_guard import check_output
from reward_fns import format_verdict

PROG = "python eval/released_template.py"
CONVERSATION_BLOCKS = {label: (f"[The Start of the Conversation between Chatbot {label} and the Client]",
                               f"[The End of the Conversation between Chatbot {label} and the Client]")
                       for label in ("A", "B")}


def replace_verdicts(text: str) -> str:
    """The verdict strings as the template's placeholders."""
    return text.replace(format_verdict("A"), "{verdict_a}").replace(format_verdict("B"), "{verdict_b}")


def _substitute(text: str, parts: Sequence[tuple[str, str]], where: str, start: int = 0) -> str:
    """Replace each (content, placeholder) in order of appearance from ``start``, each after the previous one."""
    out, position = [text[:start]], start
    for content, placeholder in parts:
        found = text.find(content, position)
        if found < 0:
            raise EvalError(f"{where}: could not locate {placeholder} in the rendered prompt; pass another "
                            "released set.")
        out += [text[position:found], placeholder]
        position = found + len(content)
    return "".join(out) + text[position:]


def single_turn_sections(messages: Sequence[Mapping[str, Any]], where: str) -> dict[str, str | None]:
    """The system and user_single sections from one released single-turn prompt."""
    parsed = parse_prompt(messages[-1]["content"], where)
    parts = [(parsed.conversation[0]["content"], "{question}"), (parsed.answer_a[0]["content"], "{answer_a}"),
             (parsed.answer_b[0]["content"], "{answer_b}")]
    text = messages[-1]["content"]
    user = _substitute(text, parts, where, start=text.find(QUESTION_HEADER) + len(QUESTION_HEADER))
    system = messages[0]["content"] if len(messages) > 1 and messages[0]["role"] == "system" else None
    return {"system": None if system is None else replace_verdicts(system), "user_single": replace_verdicts(user)}


def multi_turn_section(user: str, where: str) -> str:
    """The user_multi section from one released multi-turn prompt: each conversation block's body a placeholder."""
    out = user
    for label in ("A", "B"):
        start, end = CONVERSATION_BLOCKS[label]
        head = out.find(start)
        tail = out.find(end, head + len(start)) if head >= 0 else -1
        if tail < 0:
            raise EvalError(f"{where}: no complete Chatbot {label} conversation block; pass another released set.")
        out = f"{out[:head + len(start)]}\n{{conversation_{label.lower()}}}\n{out[tail:]}"
    return replace_verdicts(out)


def build_template(rows: Sequence[Mapping[str, Any]], source: str) -> str:
    """The template file text from a released set's rows (see the module docstring)."""
    single = multi = None
    for number, row in enumerate(rows, 1):
        messages = _messages(row, source, number)
        is_multi = CONVERSATION_BLOCKS["A"][0] in messages[-1]["content"]
        if is_multi and multi is None and not has_label_leak(messages[-1]["content"]):
            multi = (number, messages)
        elif not is_multi and single is None:
            single = (number, messages)
        if single and multi:
            break
    if single is None:
        raise EvalError(f"{source} has no single-turn row; pass upstream's released RL set (e.g. "
                        "gaotang/RM-R1-after-Distill-RLVR).")
    try:
        sections = single_turn_sections(single[1], f"{source} row {single[0]}")
    except ReleasedDataError as err:
        raise EvalError(str(err)) from err
    if multi is not None:
        sections["user_multi"] = multi_turn_section(multi[1][-1]["content"], f"{source} row {multi[0]}")
    text = _render(sections, source, single[0], None if multi is None else multi[0])
    _check(text, single[1], source, single[0])
    return text


def _messages(row: Any, source: str, number: int) -> list[Mapping[str, Any]]:
    """A row's context_messages, each a {role, content} pair of texts (anything else is one sentence)."""
    messages = row.get("context_messages") if isinstance(row, Mapping) else None
    if not isinstance(messages, list) or not messages:
        raise EvalError(f"{source} row {number} has no context_messages list; pass upstream's released RL set.")
    for index, message in enumerate(messages):
        if not (isinstance(message, Mapping) and isinstance(message.get("role"), str)
                and isinstance(message.get("content"), str)):
            raise EvalError(f"{source} row {number} context_messages[{index}] is not a {{role, content}} pair of "
                            "texts; pass upstream's released RL set.")
    return messages


def _render(sections: Mapping[str, str | None], source: str, single: int, multi: int | None) -> str:
    head = [f"Judge prompt of upstream RM-R1's released data {source}: single-turn sections from row {single}",
            f"multi-turn section from row {multi} (conversations use this repository's speaker names)" if multi
            else "no multi-turn row was found, so multi-turn pairs cannot be judged with this template",
            "Written by eval/released_template.py; {verdict_a}/{verdict_b} stand for the verdict strings.", ""]
    body = [f"=== {name} ===\n{text}\n" for name, text in sections.items() if text is not None]
    return "\n".join(head) + "\n" + "\n".join(body)


def _check(text: str, messages: Sequence[Mapping[str, Any]], source: str, number: int) -> None:
    """Re-render the single-turn row through the template: it must give the released messages back."""
    try:
        template = parse_template(text, origin=f"{source} row {number}", name="rm-r1-released")
    except TemplateError as err:
        raise EvalError(f"the prompt of {source} row {number} does not make a valid template ({err}).") from err
    parsed = parse_prompt(messages[-1]["content"], f"{source} row {number}")
    rendered = render_judge_prompt(template, parsed.conversation, parsed.answer_a, parsed.answer_b)
    if [dict(m) for m in rendered] != [{"role": m["role"], "content": m["content"]} for m in messages]:
        raise EvalError(f"re-rendering {source} row {number} through the extracted template does not give the "
                        "released prompt back (surrounding whitespace differs); report it with the row.")


def make_parser() -> argparse.ArgumentParser:
    parser = EvalParser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="released RL set: hub name or local .jsonl/.json/.parquet")
    parser.add_argument("--split", default="train", help="split (default train)")
    parser.add_argument("--revision", help="hub revision (default: the latest)")
    parser.add_argument("--out", required=True, help="template file to write")
    return parser


def _ours(path: Path) -> bool:
    """A template this tool wrote earlier (its first line says so), which a rerun may replace."""
    if not path.is_file():
        return False
    with open(path, "rb") as handle:
        return handle.read(64).startswith(b"Judge prompt of upstream RM-R1's released data")


def run(args: argparse.Namespace) -> int:
    check_output("--out", args.out, [("--data", args.data)], ours=_ours)
    out = check_out_file(args.out)
    rows, _, _ = load_located(args.data, args.split, args.revision)
    text = build_template(rows, args.data)
    write_text_atomic(out, text)
    print(f"wrote {args.out}: pass it as --prompt-template {args.out}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run_cli(lambda a: run(make_parser().parse_args(a)), argv, prog=PROG)


if __name__ == "__main__":
    sys.exit(main())
