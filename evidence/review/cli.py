"""Command line: ``evidence reproduce [--studies PATH] [--claims PATH] [--html PATH] [--json PATH]``;
``evidence explain --html PATH [--table a n1 c n2]`` (the offline odds-and-risk explainer).

Checks every finding of the ledger against the study registry, prints a table
(id, claim, reported, computed, verdict), and writes the HTML report and/or a
JSON list (keys exactly: id, claim, reported, computed, verdict, source) when
asked.  ``--studies`` defaults to the study files shipped with the package and
``--claims`` to the ledger shipped with them.  Each output is written
atomically (a temporary file in the same folder, then renamed), so a reader or
a concurrent run never sees a truncated or mixed file; when one output cannot
be written the other is still written.

Exit status (:data:`EXIT_CODES`):

* 0 -- every finding recorded as reproducible (expected verdict "reproduced"
  or "consistent within rounding") still reproduces, and every output asked
  for was written;
* 1 -- a finding recorded as reproducible no longer reproduces;
* 2 -- bad input or usage: an invalid or unreadable study or ledger file or
  folder, a bad option, or an output that could not be written (the message,
  one line on standard error, names the path); takes precedence over 1;
* 3 -- an internal error (a bug: the traceback is printed; please report it).
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from evidence.review.findings import Finding, check_findings
from evidence.review.output import write_text_atomic

__all__ = ["EXIT_CODES", "main", "format_table"]

#: What each exit status of ``evidence reproduce`` means.
EXIT_CODES: dict[int, str] = {
    0: "every finding recorded as reproducible still reproduces; every output asked for was written",
    1: "a finding recorded as reproducible no longer reproduces",
    2: "bad input or usage (invalid or unreadable study or ledger file, bad option) or an output "
       "that could not be written",
    3: "internal error (a bug; the traceback is printed)",
}

_PROG = "evidence reproduce"


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


def _error(message: str) -> None:
    print(f"{_PROG}: {' '.join(message.split())}", file=sys.stderr)


def _check_inputs(args: argparse.Namespace) -> str | None:
    """A one-line message when ``--studies`` or ``--claims`` names no usable path, else None."""
    if args.studies is not None and not Path(args.studies).is_dir():
        return (f"--studies {args.studies!r}: not a folder; pass --studies PATH with the folder that holds "
                f"the study files (*.yaml), or leave it out to use the study files shipped with the package")
    if args.claims is not None and not Path(args.claims).exists():
        return (f"--claims {args.claims!r}: no such file or folder; pass --claims PATH with the ledger folder "
                f"or file, or leave it out to use the ledger shipped with the package")
    return None


def _print_legend(findings: Sequence[Finding], args: argparse.Namespace) -> None:
    """What each verdict shown means, and the quantities the documents state differently."""
    from evidence.review.findings import VERDICT_DEFINITIONS, VERDICTS, check_links

    shown = [v for v in VERDICTS if any(f.verdict == v for f in findings)]
    print("\n" + "\n".join(f"  {v}: {VERDICT_DEFINITIONS[v]}" for v in shown))
    links = Path(args.claims) / "links.yaml" if args.claims and Path(args.claims).is_dir() else None
    if args.claims is None or (links is not None and links.is_file()):
        for x in check_links(links, args.claims, args.studies):
            if not x.agree:
                print(f"Documents disagree on {x.quantity}: "
                      + "; ".join(f"{v:,.6g} ({src})" for _, src, v, _ in x.entries))


def _write(label: str, path: str, write: object) -> bool:
    """Run ``write()``; on an OSError print one line naming ``path`` and return False."""
    try:
        written = write()  # type: ignore[operator]
    except OSError as exc:
        reason = exc.strerror or str(exc)
        _error(f"cannot write the {label} to {path!r}: {reason}")
        return False
    print(f"{label} written to {written}")
    return True


def _outputs(args: argparse.Namespace, findings: Sequence[Finding]) -> bool:
    """Write the JSON, then the HTML; each independently of the other.  True when all asked for were written."""
    ok = True
    if args.json:
        text = json.dumps([f.to_json() for f in findings], indent=2, ensure_ascii=False) + "\n"
        ok &= _write("JSON", args.json, lambda: write_text_atomic(args.json, text))
    if args.html:
        from evidence.review.report import write_report

        ok &= _write("HTML report", args.html, lambda: write_report(args.html, findings, args.studies))
    return ok


def _reproduce(args: argparse.Namespace) -> int:
    problem = _check_inputs(args)
    if problem:
        _error(problem)
        return 2
    try:
        findings = check_findings(args.claims, args.studies)
    except (ValueError, OSError) as exc:
        _error(str(exc))
        return 2
    print(format_table(findings))
    print()
    written = _outputs(args, findings)
    regressed = [f for f in findings if f.regressed]
    counts = Counter(f.verdict for f in findings)
    print("\n" + ", ".join(f"{v}: {n}" for v, n in counts.items()))
    _print_legend(findings, args)
    if regressed:
        print("FAILED: recorded as reproducible but no longer reproduce: "
              + ", ".join(f"{f.id} ({f.verdict})" for f in regressed), file=sys.stderr)
    if not written:
        return 2
    return 1 if regressed else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="evidence", description="Recheck the quantitative claims of the review compendium.",
        epilog="exit status of 'reproduce': " + "; ".join(f"{k}: {v}" for k, v in EXIT_CODES.items()))
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser(
        "reproduce", help="check every finding of the ledger against the study registry",
        epilog="exit status: " + "; ".join(f"{k}: {v}" for k, v in EXIT_CODES.items()))
    rep.add_argument("--html", metavar="PATH", help="write the self-contained HTML report here")
    rep.add_argument("--json", metavar="PATH", help="write the findings as JSON here")
    rep.add_argument("--studies", metavar="PATH", default=None,
                     help="folder of study files, *.yaml (default: the study files shipped with the package)")
    rep.add_argument("--claims", metavar="PATH", default=None,
                     help="ledger folder or file (default: the ledger shipped with the package, "
                          "the claims/ folder beside the study files)")
    exp = sub.add_parser("explain", help="write the odds-and-risk explainer as one offline HTML file")
    exp.add_argument("--html", metavar="PATH", required=True, help="write the explainer here")
    exp.add_argument("--table", metavar="N", type=int, nargs=4, default=None,
                     help="events_exposed n_exposed events_unexposed n_unexposed (default: the Cambridge table)")
    return parser


def _explain(args: argparse.Namespace) -> int:
    """Write the offline odds-and-risk explainer, starting from the Cambridge table (or ``--table``)."""
    from evidence.explainer import write_explainer
    from evidence.review.registry import find_result

    if args.table is None:
        r = find_result("cambridge.conviction_19_32")
        values = [r.value(k) for k in ("events_exposed", "n_exposed", "events_unexposed", "n_unexposed")]
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
    """Entry point of the ``evidence`` command; returns the exit status (:data:`EXIT_CODES`)."""
    args = _parser().parse_args(argv)
    if args.command == "explain":
        return _explain(args)
    if args.command != "reproduce":  # pragma: no cover - argparse enforces the subcommand
        return 2
    try:
        return _reproduce(args)
    except Exception:  # a bug, not bad input: keep the traceback, and an exit status that says so
        traceback.print_exc()
        _error("internal error (exit status 3); please report it with the traceback above")
        return 3


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
