"""``KEY=VALUE`` parameters: model specs (``NAME?key=value&key=value``) and strategy options."""
from __future__ import annotations

from collections.abc import Iterable

from prismsim.hw.errors import PrismError


def parse_params(pairs: Iterable[str], flag: str) -> dict:
    """``KEY=VALUE`` strings to a dict; whole numbers and decimals become numbers."""
    out: dict = {}
    for pair in pairs:
        key, eq, val = pair.partition("=")
        if not eq or not key:
            raise PrismError(f"{flag}: expected KEY=VALUE (got {pair!r})")
        if key in out:
            raise PrismError(f"{flag}: {key!r} is given twice")
        try:
            out[key] = int(val)
        except ValueError:
            try:
                out[key] = float(val)
            except ValueError:
                out[key] = val
    return out


def split_spec(spec: str, flag: str = "--model") -> tuple[str, dict]:
    """``NAME?key=value&...`` to (NAME, parameters)."""
    name, _, query = spec.partition("?")
    return name, parse_params(filter(None, query.split("&")), flag)


def pop_phase(params: dict, where: str) -> tuple[str, int]:
    """Take ``phase`` (prefill | decode) and ``decode_tokens`` (>= 1) out of ``params``."""
    phase, steps = params.pop("phase", "prefill"), params.pop("decode_tokens", 1)
    if phase not in ("prefill", "decode"):
        raise PrismError(f"{where}: phase must be prefill or decode (got {phase!r})")
    if not isinstance(steps, int) or steps < 1:
        raise PrismError(f"{where}: decode_tokens must be a positive integer (got {steps!r})")
    return phase, steps
