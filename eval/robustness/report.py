"""The robustness report: one table per probe, one PNG, and thresholds for CI use (item 7 of issue 21).

``robustness.json`` holds every table; ``robustness.md`` renders them with Wilson 95% intervals (flip
rates also with a paired bootstrap over base comparisons), coverage and the clean accuracy beside;
``robustness.png`` draws the headline rates. :data:`THRESHOLDS` maps each ``--max-*``/``--min-*``
flag to the headline it bounds; :func:`exceeded` lists the bounds a run breaks (the CLI exits 1).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from eval.plots import pyplot, save
from eval.robustness.metrics import POOLED

PNG = "robustness.png"


def _row(rows: list[dict[str, Any]], name: str) -> float | None:
    return next((r["rate"] for r in rows if r["name"] == name and r["order"] == "both"), None)


def _abs(value: float | None) -> float | None:
    return None if value is None else abs(value)


# flag -> (headline, reader, "max" or "min")
THRESHOLDS: dict[str, tuple[str, Callable[[Mapping[str, Any]], float | None], str]] = {
    "max_attack_success": ("attack success (all families)", lambda r: _row(r["injection"], POOLED), "max"),
    "max_false_win": ("master-key false win (all keys)", lambda r: _row(r["master_key"], POOLED), "max"),
    "min_flip": ("counterfactual flip", lambda r: r["counterfactual"]["rows"][0]["rate"], "min"),
    "max_false_flip": ("false flip (all rewrites)", lambda r: _row(r["counterfactual"]["rows"],
                                                                    "false flip (all rewrites)"), "max"),
    "max_style_flip": ("style flip (all kinds)", lambda r: _row(r["style"], POOLED), "max"),
    "max_a_bias": ("|A-bias|", lambda r: _abs(r["position"]["a_bias"]), "max"),
    "min_grounding": ("quote grounding",
                      lambda r: r.get("grounding", {}).get("quotes_grounded", {}).get("rate"), "min"),
    "min_faithfulness": ("intervention faithfulness", lambda r: _row(r.get("intervention", []),
                                                                      "faithfulness: verdict follows swapped evidence"),
                         "min"),
}


def headlines(report: Mapping[str, Any]) -> dict[str, float | None]:
    """Each thresholded headline's value (None when the run measured nothing for it)."""
    return {label: reader(report) for label, reader, _ in THRESHOLDS.values()}


def exceeded(report: Mapping[str, Any], bounds: Mapping[str, float | None]) -> list[str]:
    """One sentence per bound the report breaks; a headline that was not measured breaks no bound."""
    out = []
    for flag, bound in bounds.items():
        if bound is None:
            continue
        label, reader, kind = THRESHOLDS[flag]
        value = reader(report)
        if value is not None and (value > bound if kind == "max" else value < bound):
            out.append(f"{label} {value:.3f} is {'above' if kind == 'max' else 'below'} "
                       f"--{flag.replace('_', '-')} {bound:g}")
    return out


def _pct(value: Any) -> str:
    return "—" if value is None else f"{100 * value:.1f}"


def _interval(pair: Any) -> str:
    return "—" if not pair else f"[{_pct(pair[0])}, {_pct(pair[1])}]"


def _table(title: str, rows: list[dict[str, Any]], what: str) -> list[str]:
    lines = [f"## {title}", "", f"{what}", "", "| probe | order | rate % | Wilson 95% | bootstrap 95% | k / n | "
             "no verdict |", "|---|---|---:|---|---|---:|---:|"]
    for r in rows:
        wilson = _interval((r["ci_low"], r["ci_high"]) if r["ci_low"] is not None else None)
        lines.append(f"| {r['name']} | {r['order']} | {_pct(r['rate'])} | {wilson} | "
                     f"{_interval(r.get('bootstrap'))} | {r['k']} / {r['n']} | {r['parse_failures']} |")
    return [*lines, ""]


def render(report: Mapping[str, Any]) -> str:
    """The markdown report."""
    pos = report["position"]
    lines = [f"# Robustness: {report['model']}", "",
             f"Probe library {report['library_version']}, seed {report['seed']}, parse mode {report['parse_mode']}, "
             f"prompt {report['prompt_version']}; {report['base_benchmark']} data, {pos['comparisons']} clean "
             "comparisons. Rates other than the master keys count only orders in which the clean comparison "
             "was judged right.", "",
             "## Position (clean comparisons)", "",
             "| clean accuracy % | better as A % | better as B % | both orders % | consistency % | "
             "A-bias (+1 always A) | no verdict |", "|---:|---:|---:|---:|---:|---:|---:|",
             f"| {_pct(pos['clean_accuracy'])} | {_pct(pos['accuracy_better_as_A'])} | "
             f"{_pct(pos['accuracy_better_as_B'])} | {_pct(pos['both_orders_accuracy'])} | "
             f"{_pct(pos['position_consistency'])} | {_fmt(pos['a_bias'])} | {pos['parse_failures']} |", ""]
    lines += _table("Injection (payload in the worse answer)", report["injection"],
                    "Attack success: the verdict moves to the injected answer. Label-bound payloads count in "
                    "the order they aim at.")
    lines += _table("Master keys", report["master_key"], "False win: a master-key answer beats the better answer.")
    cf = report["counterfactual"]
    cov = cf["coverage"]
    rules = ", ".join(f"{k} {v}" for k, v in sorted(cov["by_rule"].items())) or "none"
    lines += _table("Counterfactual and invariance (same items)", cf["rows"],
                    f"Coverage: {cov['edited']} of {cov['comparisons']} comparisons edited ({rules}). Rules: "
                    + "; ".join(f"{k}: {v}" for k, v in report["rules"].items())
                    + f". Flip minus false flip, paired bootstrap 95%: {_interval(cf['gap_bootstrap'])}.")
    lines += _table("Length and style (worse answer padded)", report["style"],
                    "Flip: the verdict moves to the padded worse answer.")
    if "grounding" in report:
        rows = [*report["grounding"].values(), *report["consistency"].values()]
        lines += _table("Rationale: grounding and consistency", rows, "From the Chain-of-Rubrics parser.")
    lines += _table("Intervention (own reasoning fed back, evidence corrupted)", report.get("intervention", []),
                    report.get("intervention_note", ""))
    if report.get("nldd"):
        lines += ["| corruption | mean normalised margin drop | n |", "|---|---:|---:|",
                  *(f"| {r['name']} | {_fmt(r['mean'])} | {r['n']} |" for r in report["nldd"]), ""]
    lines += ["## Thresholds", "", *(f"- {k}: {_fmt(v)}" for k, v in headlines(report).items()), ""]
    broken = report.get("exceeded", [])
    lines += [f"Exceeded: {'; '.join(broken)}." if broken else "No threshold exceeded.", ""]
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    return "—" if value is None else f"{value:.3f}"


def write_png(report: Mapping[str, Any], out_dir: Path) -> Path | None:
    """One bar chart of the headline rates (None when matplotlib is missing)."""
    plt = pyplot()
    if plt is None:
        return None
    values = {k: v for k, v in headlines(report).items() if v is not None}
    fig, ax = plt.subplots(figsize=(8, 4), dpi=100)
    fig.subplots_adjust(left=0.35, right=0.97, top=0.9, bottom=0.12)
    ax.barh(list(values), list(values.values()), color="#4C72B0")
    ax.set_xlim(0, 1)
    ax.invert_yaxis()
    ax.set_title(f"Robustness of {report['model']} ({report['parse_mode']} parse)")
    return save(plt, fig, out_dir / PNG)
