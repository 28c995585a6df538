"""The one error type users see (a message naming the field and value that is wrong), and
reading a user's input file so that a missing, unreadable, non-text or malformed YAML file is one
of them."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class PrismError(Exception):
    """Bad input (arch, workload, mapping, flag). The CLI prints it as one line and exits 2."""


def shown(value, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters: an echoed input in an error stays short, however
    large the value (a YAML alias bomb expands to gigabytes)."""
    r = repr(value) if not isinstance(value, (list, dict, tuple)) or _small(value) else f"<{type(value).__name__} of {len(value)}>"
    return r if len(r) <= limit else r[:limit - 3] + "..."


def _small(v, budget: int = 64) -> bool:
    """Whether a container holds at most ``budget`` items in all (without walking a huge one)."""
    stack, seen = [v], 0
    while stack:
        x = stack.pop()
        if isinstance(x, (list, tuple)):
            seen += len(x)
            stack.extend(x[:budget])
        elif isinstance(x, dict):
            seen += len(x)
            stack.extend(list(x.values())[:budget])
        if seen > budget:
            return False
    return True


MAX_NODES = 1_000_000   # a YAML document's size with its aliases expanded


def input_file(path: str | Path, field: str) -> Path:
    """``path`` as a Path if it names a regular file, else a PrismError naming ``field``."""
    p = Path(path)
    if not p.exists():
        raise PrismError(f"{field}: file {str(p)!r} does not exist")
    if not p.is_file():
        raise PrismError(f"{field}: {str(p)!r} is not a file")
    return p


def read_text(path: str | Path, field: str) -> str:
    """The text of a user's input file (UTF-8); a PrismError naming ``field`` if it cannot be read."""
    p = input_file(path, field)
    try:
        return p.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise PrismError(f"{field}: {str(p)!r} is not UTF-8 text (byte {err.start})") from None
    except OSError as err:
        raise PrismError(f"{field}: cannot read {str(p)!r} ({err.strerror})") from None


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key given twice in one mapping (it keeps the last one
    silently: two ``models:`` lines in a sweep file ran only the second) and a document whose
    aliases expand past ``MAX_NODES`` nodes (a few hundred bytes of anchors can stand for
    gigabytes: the "billion laughs")."""

    def compose_document(self):
        node = super().compose_document()
        size: dict[int, int] = {}

        def expanded(n) -> int:   # nodes once every alias is expanded, memoised per shared node
            k = id(n)
            if k not in size:
                size[k] = 1   # cycles count once
                if isinstance(n, yaml.SequenceNode):
                    size[k] = 1 + sum(expanded(c) for c in n.value)
                elif isinstance(n, yaml.MappingNode):
                    size[k] = 1 + sum(expanded(a) + expanded(b) for a, b in n.value)
                size[k] = min(size[k], MAX_NODES + 1)
            return size[k]

        total = expanded(node) if node is not None else 0
        if total > MAX_NODES:
            raise yaml.constructor.ConstructorError(
                None, None, f"the document expands to more than {MAX_NODES:,} values through its aliases "
                "(anchors reused inside each other)", node.start_mark)
        return node

    def construct_mapping(self, node, deep=False):
        seen: set = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} is given twice",
                    key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


def load_yaml(text: str, source: str) -> Any:
    """``text`` parsed as YAML (safe, no key twice in a mapping); a PrismError naming ``source`` if not."""
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        what = getattr(err, "problem", None) or str(err).splitlines()[0]
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        raise PrismError(f"{source}: not valid YAML ({where}{what})") from None
