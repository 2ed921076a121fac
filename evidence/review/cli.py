"""Command line: ``evidence reproduce [--html PATH] [--json PATH]``; ``evidence explain --html PATH``.

Checks every finding of the ledger against the study registry, prints a table
(id, claim, reported, computed, verdict), and writes the HTML report and/or a
JSON list (keys exactly: id, claim, reported, computed, verdict, source) when
asked.

Exit status: 0 when every finding recorded as reproducible (expected verdict
"reproduced" or "consistent within rounding") still reproduces; 1 when one no
longer does; 2 when a study or ledger file is invalid.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from evidence.review.findings import Finding, check_findings

__all__ = ["main", "format_table"]


def _cut(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def format_table(findings: Sequence[Finding], *, width: int = 44) -> str:
    """A plain-text table of the findings (long texts cut; full text in JSON/HTML)."""
    cols = ("id", "claim", "reported", "computed", "verdict")
    widths = {"id": max(len("id"), *(len(f.id) for f in findings)) if findings else 2,
              "claim": width, "reported": 28, "computed": width, "verdict": 33}
    head = "  ".join(c.ljust(widths[c]) for c in cols)
    lines = [head, "-" * len(head)]
    for f in findings:
        flag = "" if f.matches_expected else f"   (ledger expects: {f.expected})"
        lines.append("  ".join(_cut(getattr(f, c), widths[c]).ljust(widths[c]) for c in cols) + flag)
    return "\n".join(lines)


def _reproduce(args: argparse.Namespace) -> int:
    try:
        findings = check_findings(args.claims, args.studies)
    except ValueError as exc:
        print(f"evidence reproduce: {exc}", file=sys.stderr)
        return 2
    print(format_table(findings))
    if args.html:
        from evidence.review.report import write_report

        p = write_report(args.html, findings, args.studies)
        print(f"\nHTML report written to {p}")
    if args.json:
        p = Path(args.json)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps([f.to_json() for f in findings], indent=2, ensure_ascii=False) + "\n",
                     encoding="utf-8")
        print(f"JSON written to {p}")
    regressed = [f for f in findings if f.regressed]
    counts = Counter(f.verdict for f in findings)
    print("\n" + ", ".join(f"{v}: {n}" for v, n in counts.items()))
    if regressed:
        print("FAILED: recorded as reproducible but no longer reproduce: "
              + ", ".join(f"{f.id} ({f.verdict})" for f in regressed), file=sys.stderr)
        return 1
    return 0


def _explain(args: argparse.Namespace) -> int:
    """Write the offline odds-and-risk explainer, starting from the Cambridge table (or ``--table``)."""
    from evidence.explainer import write_explainer
    from evidence.review.registry import find_result

    if args.table is None:
        r = find_result("cambridge.conviction_19_32")
        values = [r.value(k) for k in ("events_exposed", "n_exposed", "events_comparison", "n_comparison")]
        if any(v is None for v in values):
            print(f"evidence explain: the registry's {r.id} lacks counts ({values}); pass --table.", file=sys.stderr)
            return 2
        table = [int(v) for v in values if v is not None]
        labels = ("boys separated by a parent's imprisonment", "boys not separated")
        outcome = "convicted (ages 19–32)"
    else:
        table, labels, outcome = args.table, ("exposed", "unexposed"), "with the outcome"
    try:
        p = write_explainer(args.html, *table, labels=labels, outcome=outcome)
    except ValueError as exc:
        print(f"evidence explain: {exc}", file=sys.stderr)
        return 2
    print(f"Explainer written to {p}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``evidence`` command."""
    parser = argparse.ArgumentParser(prog="evidence", description="Evidence synthesis on children of prisoners.")
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("reproduce", help="check every finding of the ledger against the study registry")
    rep.add_argument("--html", metavar="PATH", help="write the self-contained HTML report here")
    rep.add_argument("--json", metavar="PATH", help="write the findings as JSON here")
    rep.add_argument("--claims", metavar="PATH", default=None,
                     help="ledger folder or file (default: studies/claims)")
    rep.add_argument("--studies", metavar="PATH", default=None,
                     help="study registry folder (default: studies)")
    exp = sub.add_parser("explain", help="write the odds-and-risk explainer as one offline HTML file")
    exp.add_argument("--html", metavar="PATH", required=True, help="write the explainer here")
    exp.add_argument("--table", metavar="N", type=int, nargs=4, default=None,
                     help="events_exposed n_exposed events_unexposed n_unexposed (default: the Cambridge table)")
    args = parser.parse_args(argv)
    if args.command == "reproduce":
        return _reproduce(args)
    if args.command == "explain":
        return _explain(args)
    return 2  # pragma: no cover - argparse enforces the subcommand


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
