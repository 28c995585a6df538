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


def add_llm_flags(parser) -> None:
    """``--arch``, ``--model`` (an LLM with batched decode steps) and ``--strategy``: the flags the
    LLM commands (``serve``, ``decode``) share."""
    parser.add_argument("--arch", default="hybrid", help="preset name or YAML file (default: hybrid)")
    parser.add_argument("--model", default="pythia-70m",
                        help="an LLM with batched decode steps: pythia-70m (default; its parameters may follow, e.g. "
                             "pythia-70m?vocab=1000) or hf:TYPE?field=value (a Hugging Face causal LM config)")
    parser.add_argument("--strategy", default="greedy", help="mapping strategy of every step (default: greedy)")
