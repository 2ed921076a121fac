"""Strict reading of the compendium's YAML files (study files, claims ledger).

PyYAML's ``safe_load`` follows YAML 1.1, which changes values silently and
trusts its input's size:

* ``023`` loads as 19 (octal), ``1_000`` as 1000, ``1:30`` as 90 (base 60);
* ``yes``/``no``/``on``/``off``/``y``/``n`` load as booleans;
* a duplicated key keeps the last value;
* anchors and aliases (``&a`` / ``*a``) let a few lines expand into hundreds
  of millions of elements ("billion laughs");
* a file is read whole, whatever its size (a link to ``/dev/zero`` never ends).

:func:`read_yaml` reads a file of at most :data:`MAX_BYTES` bytes, decodes it
as UTF-8, resolves plain scalars by the YAML 1.2 core schema (``true``/``false``,
decimal integers without leading zeros, decimal floats; everything else is
text), and rejects -- with a :class:`ValueError` naming the file, the study
(or claim) and the field -- anchors and aliases, duplicate keys, the YAML 1.1
forms above (quote them to mean text), explicit tags other than the core
ones, integers of more than :data:`MAX_INT_DIGITS` digits and nesting deeper
than :data:`MAX_DEPTH`.  :func:`short` shortens any value for an error message.
"""

from __future__ import annotations

import re
import stat
from pathlib import Path
from typing import Any

import yaml

from evidence._validation import short_repr

__all__ = ["MAX_BYTES", "MAX_DEPTH", "MAX_INT_DIGITS", "clip", "read_bytes", "read_yaml"]

#: Largest file read (bytes); the study files are a few kB each.
MAX_BYTES: int = 1 << 20
#: Deepest nesting of mappings and lists accepted.
MAX_DEPTH: int = 32
#: Longest integer accepted (digits); larger numbers are not counts or effects.
MAX_INT_DIGITS: int = 15

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_AMBIGUOUS = "tag:evidence,2024:yaml11"
_ALLOWED_TAGS = {_STR, _INT, _FLOAT, _BOOL, _NULL, _SEQ, _MAP}



# The scanner and parser are LibYAML's when PyYAML was built with it (ten times faster; they keep explicit
# stacks, so deep nesting cannot exhaust the C stack); composing the node tree stays in Python, where deep
# nesting ends in a RecursionError that is caught, and where anchors and aliases are seen.
class _PyParser(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser):
    def __init__(self, stream: str) -> None:
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)


_Parser: Any
try:
    from yaml.cyaml import CParser as _Parser  # type: ignore[attr-defined]
except ImportError:  # PyYAML built without LibYAML
    _Parser = _PyParser


def clip(text: str, width: int = 160) -> str:
    """``text`` cut to ``width`` characters (for field names and other texts placed in a message).

    Examples
    --------
    >>> clip("results[0].n_exposed", 12)
    'results[0...'
    """
    return text if len(text) <= width else text[: width - 3] + "..."


class _Loader(yaml.composer.Composer, yaml.constructor.SafeConstructor, yaml.resolver.Resolver, _Parser):
    """Loader with the YAML 1.2 core schema; YAML 1.1-only forms get the tag ``_AMBIGUOUS``."""

    yaml_implicit_resolvers: dict[str, list[tuple[str, Any]]] = {}

    def __init__(self, stream: str) -> None:
        _Parser.__init__(self, stream)
        yaml.composer.Composer.__init__(self)
        yaml.constructor.SafeConstructor.__init__(self)
        yaml.resolver.Resolver.__init__(self)

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            target = self.anchors.get(event.anchor)
            if target is not None:
                # composing the alias returns the anchored node itself; mark it for the walk
                setattr(target, "alias_of", event.anchor)  # noqa: B010 - yaml.Node declares no such field
        anchor = getattr(event, "anchor", None)
        node = super().compose_node(parent, index)
        if anchor is not None and not isinstance(event, yaml.AliasEvent):
            setattr(node, "anchor", anchor)  # noqa: B010 - yaml.Node declares no such field
        return node


def _resolver(tag: str, pattern: str, first: str) -> None:
    first_chars: list[str | None] = [*first, ""] if tag == _NULL else list(first)
    _Loader.add_implicit_resolver(tag, re.compile(pattern, re.X), first_chars)


_resolver(_BOOL, r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF")
_resolver(_INT, r"^[-+]?(?:0|[1-9][0-9]*)$", "-+0123456789")
_resolver(_FLOAT, r"""^[-+]?(?:(?:0|[1-9][0-9]*)(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$
                  |^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$""", "-+0123456789.")
_resolver(_NULL, r"^(?:~|null|Null|NULL|)$", "~nN")
_resolver(_AMBIGUOUS, r"""^(?:yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF)$
                      |^[-+]?0[0-9_]+(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?$
                      |^[-+]?0[xXoObB][0-9a-fA-F_]+$
                      |^[-+]?[0-9][0-9_]*_[0-9_]*(?:\.[0-9_]*)?$
                      |^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$
                      |^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt ].*)?$
                      |^<<$|^=$""", "yYnNoO-+0123456789<=")

_WHY_AMBIGUOUS = ("a YAML 1.1 form that other readers load differently (yes/no/on/off as booleans, "
                  "leading zeros as octal, '_' in numbers, base 60, dates, merge keys); write "
                  "true/false, a plain decimal number, or quote it to mean text")


class _Walk:
    """Checks a composed node tree, naming the file, the owner (study or claim) and the field."""

    def __init__(self, path: Path, label: str, root: Any) -> None:
        self.path = path
        self.label = label
        self.owner = _scalar_id(root)
        self.seen: set[int] = set()

    def fail(self, field: str, value: Any, allowed: str, owner: str | None = None) -> ValueError:
        who = owner or self.owner
        whose = f"{self.label} {short_repr(who, 80)}" if who else f"{self.label} (unknown id)"
        return ValueError(f"{clip(self.path.name, 120)}: {whose}, field {clip(field or '(file)')!r}: "
                          f"bad value {short_repr(value)}; {clip(allowed, 400)}.")

    def check(self, node: Any, field: str, depth: int, owner: str | None) -> None:
        # iterative over siblings, recursive over depth (bounded by MAX_DEPTH)
        if depth > MAX_DEPTH:
            raise self.fail(field, "...", f"nesting deeper than {MAX_DEPTH} levels is not accepted")
        if getattr(node, "alias_of", None) is not None or getattr(node, "anchor", None) is not None \
                or id(node) in self.seen:
            name = getattr(node, "alias_of", None) or getattr(node, "anchor", None) or "?"
            raise self.fail(field, f"&{name}", "YAML anchors and aliases (&name, *name) are not accepted; "
                            "write each value out")
        self.seen.add(id(node))
        if node.tag not in _ALLOWED_TAGS and node.tag != _AMBIGUOUS:
            raise self.fail(field, node.tag, "explicit YAML tags other than !!str, !!int, !!float, "
                            "!!bool, !!null are not accepted")
        if isinstance(node, yaml.ScalarNode):
            self._scalar(node, field, owner)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self.check(item, f"{field}[{i}]", depth + 1, self._owner_of(item, depth, owner))
        else:
            self._mapping(node, field, depth, owner)

    def _owner_of(self, item: Any, depth: int, owner: str | None) -> str | None:
        if self.owner is None:  # a file of several records (the claims ledger): each item's own id
            return _scalar_id(item) or owner
        return owner

    def _scalar(self, node: Any, field: str, owner: str | None) -> None:
        if node.tag == _AMBIGUOUS:  # only plain scalars are resolved implicitly: quoted text is text
            raise self.fail(field, node.value, _WHY_AMBIGUOUS, owner)
        if node.tag == _INT and len(node.value.lstrip("+-")) > MAX_INT_DIGITS:
            raise self.fail(field, node.value, f"integers of more than {MAX_INT_DIGITS} digits are not "
                            "accepted", owner)

    def _mapping(self, node: Any, field: str, depth: int, owner: str | None) -> None:
        keys: set[str] = set()
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode) or key.tag == _AMBIGUOUS:
                raise self.fail(field, getattr(key, "value", key), "keys must be plain text", owner)
            sub = f"{field}.{key.value}" if field else str(key.value)
            if key.value in keys:
                raise self.fail(sub, key.value, "duplicate key: each key appears once in a mapping", owner)
            keys.add(key.value)
            self.check(value, sub, depth + 1, owner)


def _scalar_id(node: Any) -> str | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == "id" and isinstance(value, yaml.ScalarNode):
                return str(value.value)
    return None


def _read_bytes(path: Path, label: str) -> bytes:
    where = f"{path.name}: {label} (unknown id), field '(file)'"
    try:
        st = path.stat()  # follows links: a dangling link raises FileNotFoundError
    except FileNotFoundError:
        raise ValueError(f"{where}: {str(path)!r} does not exist (a dangling link?); "
                         f"expected a {label} file (*.yaml).") from None
    except OSError as exc:
        raise ValueError(f"{where}: cannot read {str(path)!r} ({exc.strerror}).") from None
    if not stat.S_ISREG(st.st_mode):
        kind = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        raise ValueError(f"{where}: {str(path)!r} is {kind}; expected a {label} file (*.yaml).")
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ValueError(f"{where}: cannot read {str(path)!r} ({exc.strerror}).") from None
    if len(data) > MAX_BYTES:
        raise ValueError(f"{where}: the file is larger than {MAX_BYTES} bytes; a {label} file is a few kB.")
    return data


def read_bytes(path: str | Path, *, label: str = "study") -> bytes:
    """The bytes of ``path`` (at most :data:`MAX_BYTES`); ValueError naming the path when it is not a readable file."""
    return _read_bytes(Path(path), label)


def read_yaml(path: str | Path, *, label: str = "study", data: bytes | None = None) -> Any:
    """Read one YAML file strictly (see the module docstring) and return its Python value.

    Parameters
    ----------
    path : path
        The file (its name is used in messages).
    label : str
        What the file's ``id`` names, for error messages (``"study"`` or ``"claim"``).
    data : bytes, optional
        The file's content when already read (by :func:`read_bytes`); else the file is read.

    Raises
    ------
    ValueError
        Naming the file, the study (or claim), the field, the bad value (shortened)
        and what is allowed.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.yaml"
    >>> _ = p.write_text("id: x\\nvalue: 023\\n")
    >>> read_yaml(p)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: x.yaml: study 'x', field 'value': bad value '023'; a YAML 1.1 form ...
    """
    path = Path(path)
    if data is None:
        data = _read_bytes(path, label)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path.name}: {label} (unknown id), field '(file)': bad byte "
                         f"{data[exc.start:exc.start + 1]!r} at offset {exc.start}; the file must be "
                         f"UTF-8 text.") from None
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ValueError(f"{path.name}: {label} (unknown id), field '(file)': bad YAML syntax{where}: "
                         f"{short_repr(getattr(exc, 'problem', None) or str(exc), 200)}; fix the YAML "
                         f"syntax.") from None
    except RecursionError:
        raise ValueError(f"{path.name}: {label} (unknown id), field '(file)': nesting too deep to read; "
                         f"at most {MAX_DEPTH} levels are accepted.") from None
    finally:
        loader.dispose()
    if node is None:
        return None
    _Walk(path, label, node).check(node, "", 0, None)
    return loader.construct_document(node)
