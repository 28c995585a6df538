"""What the benchmark scripts share: the machine they ran on and writing their JSON."""
from __future__ import annotations

import json
import os
import platform


def machine() -> str:
    """CPU and core count, e.g. ``x86_64, 2 cores``."""
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"


def save(doc: dict, path: str | None) -> None:
    """Write ``doc`` as indented JSON to ``path`` (nothing when ``path`` is None)."""
    if path:
        with open(path, "w") as f:
            json.dump(doc, f, indent=2)
