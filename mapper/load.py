"""A model from its command-line spec: a zoo name with parameters, ``hf:``, ``torch:`` or an ONNX
file (what ``--model`` and a sweep's ``models`` take)."""
from __future__ import annotations

import inspect

from prismsim.hw.errors import PrismError, shown

from .params import pop_phase, split_spec
from .workload import Workload
from .zoo import ZOO

MAX_PARAM = 10_000_000   # a zoo model's size parameters (tokens, batch, image side): beyond, no run ends


def load_model(spec: str) -> Workload:
    """``NAME`` or ``NAME?key=value&key=value`` (zoo parameters, e.g. ``pythia-70m?seq_len=256``),
    ``hf:ARCH?config=value`` (a Hugging Face model), ``torch:pkg.module:factory`` or ``FILE.onnx``."""
    if spec.startswith("hf:"):
        from prismsim.mapper.importers.torch_import import hf_workload
        return hf_workload(spec)
    if spec.startswith("torch:"):
        from prismsim.mapper.importers.torch_import import torch_workload
        return torch_workload(spec)
    if spec.endswith(".onnx"):
        from prismsim.mapper.importers.onnx_import import onnx_workload
        return onnx_workload(spec)
    name, kwargs = split_spec(spec)
    if name not in ZOO:
        raise PrismError(f"--model: no model named {shown(name)} (zoo: {', '.join(ZOO)})")
    given = {"phase", "decode_tokens"} & kwargs.keys()
    phase = {k: v for k, v in zip(("phase", "decode_tokens"), pop_phase(kwargs, "--model")) if k in given}
    bad = next((k for k, v in kwargs.items() if not isinstance(v, int) or not 1 <= v <= MAX_PARAM), None)
    if bad is not None:
        raise PrismError(f"--model: parameter {shown(f'{bad}={kwargs[bad]}')} must be key=whole number from 1 to "
                         f"{MAX_PARAM:,}")
    kwargs.update(phase)
    takes = inspect.signature(ZOO[name]).parameters
    unknown = [k for k in kwargs if k not in takes]
    if phase and "phase" in unknown:
        raise PrismError(f"--phase: {name} has no phases (not a causal LM)")
    if unknown:
        named = ", ".join(takes) or "none"
        raise PrismError(f"--model: {name} takes no parameter named {', '.join(unknown)} (it takes: {named})")
    return ZOO[name](**kwargs)
