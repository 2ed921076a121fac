"""Published data sets shipped with the library, each with its citation and licence.

Every data set is two files in this folder: ``<name>.csv`` (the data) and ``<name>.yaml`` (its
description: ``title``, ``citation``, ``source`` -- where the file was taken from --, ``licence``,
``columns`` -- one line per column -- and ``notes``).  Data are reached through :func:`load_dataset`,
never through a path relative to the source tree, so they work from an installed wheel.

>>> sorted(list_datasets()) == sorted(list_datasets())
True
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import pandas as pd
import yaml

__all__ = ["DatasetInfo", "dataset_info", "list_datasets", "load_dataset"]

_FIELDS = ("title", "citation", "source", "licence", "columns", "notes")


@dataclass(frozen=True)
class DatasetInfo:
    """Description of a shipped data set (from its ``<name>.yaml``)."""

    name: str
    title: str
    citation: str
    source: str
    licence: str
    columns: tuple[tuple[str, str], ...]
    notes: str


def _folder() -> Any:
    return files("evidence.datasets")


def list_datasets() -> tuple[str, ...]:
    """Names of the shipped data sets, sorted."""
    return tuple(sorted(p.name[:-4] for p in _folder().iterdir() if p.name.endswith(".csv")))


def _check_name(name: Any) -> str:
    known = list_datasets()
    if not isinstance(name, str) or name not in known:
        raise ValueError(f"name={name!r} is not a shipped data set; the data sets are: {', '.join(known)}.")
    return name


def dataset_info(name: str) -> DatasetInfo:
    """Citation, source, licence and column descriptions of data set ``name``."""
    name = _check_name(name)
    meta = yaml.safe_load((_folder() / f"{name}.yaml").read_text(encoding="utf-8"))
    missing = [f for f in _FIELDS if f not in meta]
    if missing:
        raise ValueError(f"evidence/datasets/{name}.yaml lacks the field(s) {', '.join(missing)}.")
    cols = tuple((str(k), str(v)) for k, v in meta["columns"].items())
    return DatasetInfo(name=name, title=str(meta["title"]), citation=str(meta["citation"]),
                       source=str(meta["source"]), licence=str(meta["licence"]), columns=cols,
                       notes=str(meta["notes"]))


def load_dataset(name: str) -> pd.DataFrame:
    """Data set ``name`` as a DataFrame; its description is in ``df.attrs["info"]`` (a :class:`DatasetInfo`)."""
    info = dataset_info(name)
    with (_folder() / f"{name}.csv").open(encoding="utf-8") as fh:
        df = pd.read_csv(fh)
    described = [c for c, _ in info.columns]
    if list(df.columns) != described:
        raise ValueError(f"evidence/datasets/{name}.csv has columns {list(df.columns)}, but its .yaml "
                         f"describes {described}.")
    df.attrs["info"] = info
    return df
