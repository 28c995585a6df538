"""A workload file (``--model run.yaml``): the models of one run, each with its strategy and its
share of the chip, as the command line's repeated ``--model``, ``--strategy s1,s2`` and
``--partition`` would give them::

    models:
      - resnet18                      # a model spec, as --model takes it
      - model: mobilevit-s
        strategy: greedy              # its own strategy (then every model names one)
        share: 2                      # its share of the units (then every model gives one)
    partition: true                   # each model on its own part of the chip (shares: by MACs)
"""
from __future__ import annotations

import math
from pathlib import Path

from prismsim.hw.errors import PrismError, load_yaml, read_text, shown

SUFFIXES = (".yaml", ".yml")


def is_workload_file(spec) -> bool:
    return isinstance(spec, str) and spec.endswith(SUFFIXES)


def read(path: str) -> tuple[list[str], list[str] | None, str | None]:
    """The file's model specs, their strategies (None: the command's) and its ``--partition``
    text (None: shared units; ``macs``: in proportion to the models' MACs; else the shares)."""
    doc = load_yaml(read_text(Path(path), "--model"), path)
    if not isinstance(doc, dict) or "models" not in doc:
        raise PrismError(f"{path}: a workload file is a table with a list of models (field models)")
    extra = sorted(set(doc) - {"models", "partition"})
    if extra:
        raise PrismError(f"{path}: field {extra[0]!r} is not a workload field (models, partition)")
    models = doc["models"]
    if not isinstance(models, list) or not models or len(models) > 64:
        raise PrismError(f"{path}: field models must be a list of 1 to 64 models (got {shown(models)})")
    specs, strategies, shares = [], [], []
    for i, m in enumerate(models):
        where = f"{path}: field models.{i}"
        if isinstance(m, str):
            m = {"model": m}
        if not isinstance(m, dict) or not isinstance(m.get("model"), str) or not m["model"]:
            raise PrismError(f"{where}: a model spec, or a table with model (and strategy, share) (got {shown(m)})")
        bad = sorted(set(m) - {"model", "strategy", "share"})
        if bad:
            raise PrismError(f"{where}: field {bad[0]!r} is not a model field (model, strategy, share)")
        if is_workload_file(m["model"]):
            raise PrismError(f"{where}.model: a model spec, not another workload file (got {shown(m['model'])})")
        s = m.get("strategy")
        if s is not None and (not isinstance(s, str) or not s or "," in s):
            raise PrismError(f"{where}.strategy: one strategy name (got {shown(s)})")
        share = m.get("share")
        if share is not None and (isinstance(share, bool) or not isinstance(share, (int, float))
                                  or not math.isfinite(share) or share <= 0):
            raise PrismError(f"{where}.share: a finite number > 0 (got {shown(share)})")
        specs.append(m["model"])
        strategies.append(s)
        shares.append(share)
    for name, col in (("strategy", strategies), ("share", shares)):
        if any(x is not None for x in col) and any(x is None for x in col):
            raise PrismError(f"{path}: give every model a {name}, or none")
    part = doc.get("partition", False)
    if not isinstance(part, bool):
        raise PrismError(f"{path}: field partition must be true or false (got {shown(part)})")
    if shares[0] is not None and not part:
        raise PrismError(f"{path}: shares need partition: true")
    text = (",".join(f"{x:g}" for x in shares) if shares[0] is not None else "macs") if part else None
    return specs, strategies if strategies[0] is not None else None, text


def expand(args) -> None:
    """``args`` with a workload file given to ``--model`` replaced by what it says (its models,
    strategies and partition); a command-line flag it would also set is an error."""
    given = args.model if isinstance(args.model, list) else [args.model]
    if not any(is_workload_file(m) for m in given):
        return
    if len(given) > 1:
        raise PrismError("--model: a workload file holds every model of the run: give it alone")
    specs, strategies, part = read(given[0])
    if strategies is not None:
        if getattr(args, "strategy", None) not in (None, "greedy") or getattr(args, "mapping", None):
            raise PrismError(f"--strategy: {given[0]} names each model's strategy already")
        args.strategy = ",".join(strategies)
    if part is not None:
        if getattr(args, "partition", None) is not None:
            raise PrismError(f"--partition: {given[0]} sets the partition already")
        args.partition = part
    args.model = specs
