"""Reading the files meta-analysts already have, and writing one metafor reads.

* :func:`read_table` -- a CSV or Excel sheet (through pandas), with the column mapping as arguments:
  given a ``measure`` it returns the effect-size frame of :func:`evidence.measures.escalc`;
* :func:`read_revman` -- a RevMan 5 review (``.rm5``, the Cochrane format): dichotomous, continuous
  and generic inverse-variance outcomes, with their comparison, outcome and subgroup labels, into
  the same effect-size frame;
* :func:`write_metafor_csv` -- a CSV that R reads with ``read.csv`` and hands unchanged to
  ``metafor::rma(yi, vi, data = ...)`` (or to ``escalc`` through its count columns).

RevMan 5 stores each analysis under ``ANALYSES_AND_DATA/COMPARISON`` as a ``DICH_OUTCOME``,
``CONT_OUTCOME`` or ``IV_OUTCOME`` (each with a ``NAME``, optionally ``*_SUBGROUP`` children), whose
``DICH_DATA`` (``EVENTS_1``, ``TOTAL_1``, ``EVENTS_2``, ``TOTAL_2``), ``CONT_DATA`` (``MEAN_1``,
``SD_1``, ``TOTAL_1``, ...) and ``IV_DATA`` (``EFFECT_SIZE``, ``SE``) rows name their study by
``STUDY_ID``; study names and years are in ``STUDIES/.../STUDY`` (``ID``, ``NAME``, ``YEAR``).  Group
1 is the experimental ("exposed") group.  Effect sizes are recomputed here from the raw numbers with
:func:`~evidence.measures.escalc` (RevMan's own per-study numbers in the file are not used: its SMD is
Hedges' g with an approximate correction, ours the exact one, as metafor).  For an ``IV_OUTCOME`` on a
ratio scale ``EFFECT_SIZE`` is the ratio and ``SE`` the standard error of its logarithm.

References
----------
.. [1] The Cochrane Collaboration. Review Manager (RevMan) 5 file format (RM5 XML), as read by R
   ``meta::read.rm5`` (Schwarzer G, meta 6.x).
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evidence.measures import escalc

__all__ = ["read_table", "read_revman", "write_metafor_csv", "REVMAN_MEASURES"]

#: RevMan 5 effect measures (attribute ``EFFECT_MEASURE`` or the ``IV_OUTCOME``'s ``EFFECT_MEASURE``
#: text, lower-cased) and the :func:`~evidence.measures.escalc` measure they are recomputed as.
REVMAN_MEASURES: dict[str, str] = {
    "or": "OR", "odds ratio": "OR", "rr": "RR", "risk ratio": "RR", "rd": "RD", "risk difference": "RD",
    "peto_or": "PETO", "peto odds ratio": "PETO", "md": "MD", "mean difference": "MD", "smd": "SMD",
    "std. mean difference": "SMD", "standardized mean difference": "SMD", "rate ratio": "IRR",
    "hazard ratio": "HR",
}

_DICH = {"events_exposed": "EVENTS_1", "n_exposed": "TOTAL_1", "events_unexposed": "EVENTS_2",
         "n_unexposed": "TOTAL_2"}
_CONT = {"mean_exposed": "MEAN_1", "sd_exposed": "SD_1", "n_exposed": "TOTAL_1", "mean_unexposed": "MEAN_2",
         "sd_unexposed": "SD_2", "n_unexposed": "TOTAL_2"}
_IV = {"estimate": "EFFECT_SIZE", "se": "SE"}
_KINDS = {"DICH": _DICH, "CONT": _CONT, "IV": _IV}


def read_table(
    path: str | os.PathLike[str],
    measure: str | None = None,
    *,
    sheet: str | int = 0,
    labels: str | None = None,
    correction: str = "add_if_zero",
    double_zero: str = "exclude",
    alpha: float = 0.05,
    **columns: str,
) -> pd.DataFrame:
    """Read a CSV (``.csv``, ``.txt``) or Excel (``.xlsx``) file; with ``measure``, compute effect sizes.

    Parameters
    ----------
    path : path
        The file.  Excel files need ``openpyxl``.
    measure : str, optional
        If given, the frame is passed to :func:`evidence.measures.escalc` with the options below and
        the column mapping ``**columns`` (e.g. ``events_exposed="tx_events"``); otherwise the raw
        frame is returned.
    sheet : str or int
        Excel sheet (name or position).
    labels, correction, double_zero, alpha, **columns
        As :func:`~evidence.measures.escalc`.

    Returns
    -------
    pandas.DataFrame
        With ``attrs["source"]`` the file's path.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text("study,r,n\\nA,0.3,50\\nB,0.1,80\\n")
    >>> read_table(p, "ZCOR", labels="study", r="r", n="n")["yi"].round(4).tolist()
    [0.3095, 0.1003]
    """
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"path={str(path)!r} is not a file.")
    suffix = p.suffix.lower()
    if suffix in (".csv", ".txt"):
        frame = pd.read_csv(p)
    elif suffix in (".xlsx", ".xlsm"):
        frame = pd.read_excel(p, sheet_name=sheet, engine="openpyxl")
    else:
        raise ValueError(f"path={str(path)!r} has the suffix {suffix!r}; read_table reads .csv, .txt and .xlsx.")
    if measure is None:
        if columns or labels is not None:
            raise ValueError("Column mappings were given without measure=; pass the measure to compute effect sizes.")
        frame.attrs["source"] = str(p)
        return frame
    try:
        out = escalc(measure, frame, labels=labels, correction=correction, double_zero=double_zero, alpha=alpha,
                     **columns)
    except ValueError as err:
        raise ValueError(f"{p.name}: {err}") from None
    out.attrs["source"] = str(p)
    return out


# ---------------------------------------------------------------------------------------- RevMan 5


def _text(node: ET.Element, tag: str) -> str:
    child = node.find(tag)
    return "" if child is None or child.text is None else " ".join(child.text.split())


def _number(value: str | None, where: str, field: str) -> float:
    if value is None:
        raise ValueError(f"{where}: the field {field} is missing.")
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"{where}: the field {field} has the value {value!r}; it must be a number.") from None


def _studies(root: ET.Element) -> dict[str, tuple[str, str]]:
    out = {}
    for st in root.iter("STUDY"):
        sid = st.get("ID")
        if sid:
            out[sid] = (st.get("NAME") or sid, st.get("YEAR") or "")
    return out


def _outcome_rows(
    outcome: ET.Element, kind: str, studies: dict[str, tuple[str, str]], where: str
) -> list[dict[str, Any]]:
    fields = _KINDS[kind]
    rows = []
    groups = outcome.findall(f"{kind}_SUBGROUP") or [outcome]
    for group in groups:
        subgroup = _text(group, "NAME") if group is not outcome else ""
        for datum in group.findall(f"{kind}_DATA"):
            sid = datum.get("STUDY_ID")
            if not sid:
                raise ValueError(f"{where}: a {kind}_DATA row has no STUDY_ID.")
            name, year = studies.get(sid, (sid, ""))
            row: dict[str, Any] = {"subgroup": subgroup, "study": name, "study_id": sid, "year": year}
            for column, attr in fields.items():
                row[column] = _number(datum.get(attr), f"{where}, study {name!r}", attr)
            rows.append(row)
    return rows


def _measure(outcome: ET.Element, kind: str, where: str) -> str:
    raw = outcome.get("EFFECT_MEASURE")
    if raw is None and kind == "IV":
        raw = _text(outcome, "EFFECT_MEASURE")
    key = (raw or "").strip().lower()
    if key not in REVMAN_MEASURES:
        known = ", ".join(map(repr, REVMAN_MEASURES))
        raise ValueError(f"{where}: EFFECT_MEASURE={raw!r} is not one this reader knows; known are {known}.")
    return REVMAN_MEASURES[key]


def read_revman(
    path: str | os.PathLike[str],
    outcome: str | None = None,
    *,
    correction: str = "add_if_zero",
    double_zero: str = "exclude",
) -> pd.DataFrame:
    """Read a RevMan 5 review (``.rm5``) into effect-size frames.

    Parameters
    ----------
    path : path
        The ``.rm5`` file (XML).
    outcome : str, optional
        Which analysis: its number ``"comparison.outcome"`` (e.g. ``"1.2"``) or its name.  Without it,
        every analysis is read and stacked (the ``measure`` column then varies by row and
        ``attrs["measure"]`` is None).
    correction, double_zero : str
        As :func:`evidence.measures.escalc`, for the dichotomous outcomes.

    Returns
    -------
    pandas.DataFrame
        Columns ``comparison``, ``outcome``, ``analysis`` (``"1.2"``), ``subgroup``, ``study``,
        ``study_id``, ``year``, the raw numbers under the names :func:`~evidence.measures.escalc` uses
        (``events_exposed``, ``n_exposed``, ..., ``mean_exposed``, ``sd_exposed``, ..., or
        ``estimate``, ``se``), then ``yi``, ``vi``, ``measure``.  ``attrs`` as ``escalc``'s plus
        ``source``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "review.rm5"
    >>> _ = p.write_text(
    ...     '<COCHRANE_REVIEW><STUDIES><STUDY ID="S1" NAME="Smith 2001" YEAR="2001"/></STUDIES>'
    ...     '<ANALYSES_AND_DATA><COMPARISON NO="1"><NAME>Programme vs none</NAME>'
    ...     '<DICH_OUTCOME NO="1" EFFECT_MEASURE="OR"><NAME>Reconviction</NAME>'
    ...     '<DICH_DATA STUDY_ID="S1" EVENTS_1="12" TOTAL_1="50" EVENTS_2="20" TOTAL_2="50"/>'
    ...     '</DICH_OUTCOME></COMPARISON></ANALYSES_AND_DATA></COCHRANE_REVIEW>')
    >>> es = read_revman(p)
    >>> es[["analysis", "study", "yi"]].round(4).values.tolist()
    [['1.1', 'Smith 2001', -0.7472]]
    """
    p = Path(path)
    try:
        root = ET.parse(p).getroot()
    except (OSError, ET.ParseError) as err:
        raise ValueError(f"path={str(path)!r} could not be read as RevMan 5 XML: {err}") from None
    studies = _studies(root)
    frames = []
    for comparison in root.iter("COMPARISON"):
        cno, cname = comparison.get("NO", "?"), _text(comparison, "NAME")
        for node in comparison:
            kind = node.tag.removesuffix("_OUTCOME")
            if kind not in _KINDS or not node.tag.endswith("_OUTCOME"):
                continue
            number, name = f"{cno}.{node.get('NO', '?')}", _text(node, "NAME")
            if outcome is not None and outcome not in (number, name):
                continue
            frames.append(_analysis(p, node, kind, cname, number, name, studies, correction, double_zero))
    if not frames:
        which = f"an analysis {outcome!r}" if outcome is not None else "any DICH, CONT or IV analysis"
        raise ValueError(f"{p.name} has no {which}.")
    if len(frames) == 1:
        return frames[0]
    out = pd.concat(frames, ignore_index=True)
    out.attrs = {"measure": None, "labels": "study", "source": str(p)}
    return out


def _analysis(p: Path, node: ET.Element, kind: str, comparison: str, number: str, name: str,
              studies: dict[str, tuple[str, str]], correction: str, double_zero: str) -> pd.DataFrame:
    where = f"{p.name}, analysis {number} {name!r}"
    measure = _measure(node, kind, where)
    rows = _outcome_rows(node, kind, studies, where)
    if not rows:
        raise ValueError(f"{where} has no study data.")
    frame = pd.DataFrame(rows)
    frame.insert(0, "comparison", comparison)
    frame.insert(1, "outcome", name)
    frame.insert(2, "analysis", number)
    mapping: dict[str, Any] = {c: c for c in _KINDS[kind]}
    try:
        out = escalc(measure, frame, labels="study", correction=correction, double_zero=double_zero, **mapping)
    except ValueError as err:
        message = str(err)
        for column, field in _KINDS[kind].items():  # name the file's own field, e.g. SD_2
            message = message.replace(f"column {column!r} ({column}=)", f"field {field} ({column})")
        raise ValueError(f"{where}: {message}") from None
    out.attrs["source"] = str(p)
    return out


# ------------------------------------------------------------------------------------------ export


def write_metafor_csv(frame: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write an effect-size frame as a CSV that R's ``read.csv`` and metafor read unchanged.

    Every column is written (``yi``, ``vi``, ``measure``, the labels and the raw numbers) without
    the index, numbers at full precision (``repr``), missing values as ``NA``, logicals as
    ``TRUE``/``FALSE``.  In R: ``dat <- read.csv(path); rma(yi, vi, data = dat)``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> es = escalc("COR", r=[0.3, 0.1], n=[50, 80], labels=["A", "B"])
    >>> p = write_metafor_csv(es, pathlib.Path(tempfile.mkdtemp()) / "es.csv")
    >>> p.read_text().splitlines()[0]
    'study,r,n,yi,vi,measure'
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a pandas DataFrame; got {type(frame).__name__}.")
    missing = [c for c in ("yi", "vi") if c not in frame.columns]
    if missing:
        raise ValueError(f"frame has no column(s) {', '.join(missing)}; compute them with evidence.measures.escalc.")
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == bool:
            out[column] = np.where(out[column], "TRUE", "FALSE")
    p = Path(path)
    out.to_csv(p, index=False, na_rep="NA")
    return p
