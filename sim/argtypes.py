"""Argument types shared by the commands: each rejects bad text with a one-line message."""
from __future__ import annotations

import argparse

from prismsim.hw.errors import PrismError


def positive(text: str) -> int:
    """A whole number >= 1."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1 (got {text!r})")
    return int(text)


def seed(text: str) -> int:
    """A whole number >= 0."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0 (got {text!r})")
    return int(text)


def numbers(text: str, flag: str, kind=float) -> list:
    """Comma-separated numbers after ``flag``; a PrismError naming it otherwise."""
    try:
        return [kind(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise PrismError(f"{flag}: expected comma-separated numbers (got {text!r})") from None
