"""An LLM's decode one step at a time (``prismsim decode``, and ``serve``'s service times).

A decode of N tokens after a P-token prompt is N steps; step t handles one token per request
against a KV cache of P + t tokens, and (under the sequential schedule) starts once step t - 1 has
finished. Each step is simulated on its own, event by event, from an idle chip: the single-step
workload at context P + t, mapped by the strategy. With ``stride`` K > 1 only every K-th step
(and the last) is simulated — the sampled simulation of SMARTS/SimPoint, on the one quantity that
changes from step to step: the context. The steps between take the latency, energy and MACs
linear between their simulated neighbours (attention's work grows linearly with the context;
the rest of a step does not change). ``benchmarks/bench_scale.py`` measures the error against
the whole decode simulated as one plan.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from prismsim.hw.errors import PrismError
from prismsim.hw.spec import Arch
from prismsim.mapper.kv_cache import KvCapacity, kv_capacity, place_kv
from prismsim.mapper.params import split_spec
from prismsim.mapper.plan import build_plan
from prismsim.mapper.strategies import make_mapping
from prismsim.mapper.zoo import ZOO

from .engine import simulate_plan


def llm_builders(model: str):
    """``(prefill(n), step(context, b))`` for an LLM: a prompt's prefill, and one decode step of
    ``b`` requests each with ``context`` cached tokens. Models with batched decode steps: the zoo's
    pythia-70m (its parameters, e.g. ``vocab``, may follow) and ``hf:`` causal LMs (their config
    overrides may follow)."""
    from prismsim.mapper.load import load_model

    name, params = split_spec(model)
    taken = {"seq_len", "phase", "decode_tokens", "batch"} & params.keys()
    if taken:
        raise PrismError(f"--model: the prompt, phase and batch are set by the command, not in the spec "
                         f"(got {', '.join(sorted(taken))} in {model!r})")
    if model.startswith("hf:"):
        def spec(**kw) -> str:
            return model + ("&" if "?" in model else "?") + "&".join(f"{k}={v}" for k, v in kw.items())
        return (lambda n: load_model(spec(seq_len=n)),
                lambda ctx, b: load_model(spec(seq_len=ctx, phase="decode", decode_tokens=1, batch=b)))
    if name != "pythia-70m":
        raise PrismError(f"--model: an LLM with batched decode steps: pythia-70m or hf:TYPE (got {model!r})")
    load_model(model)   # its parameters checked once, as simulate checks them
    fn = ZOO[name]
    return (lambda n: fn(seq_len=n, **params),
            lambda ctx, b: fn(seq_len=ctx, phase="decode", decode_tokens=1, batch=b, **params))


def sampled(tokens: int, stride: int) -> list[int]:
    """The steps simulated of ``tokens``: every ``stride``-th from the first, and the last."""
    return sorted(set(range(0, tokens, stride)) | {tokens - 1})


@dataclass
class Decode:
    """A decode's steps (``t``, ``context`` tokens cached, ``latency_ps``, ``energy_pj``, ``macs``,
    ``simulated``: False where linear between simulated neighbours) and their sums."""

    model: str
    arch: str
    prompt: int
    batch: int
    stride: int
    steps: list[dict] = field(default_factory=list)
    kv: KvCapacity | None = None   # the KV cache's capacity at the last step (its mapping)

    @property
    def latency_ps(self) -> int:
        return sum(s["latency_ps"] for s in self.steps)

    @property
    def energy_pj(self) -> float:
        return sum(s["energy_pj"] for s in self.steps)

    @property
    def macs(self) -> int:
        return sum(s["macs"] for s in self.steps)


def decode(arch: Arch, model: str, prompt: int, tokens: int, stride: int = 1, batch: int = 1,
           strategy: str = "greedy", noc: str = "flow", kv_cache: str = "dram",
           on_step: Callable[[int, int], None] | None = None) -> Decode:
    """Simulate ``tokens`` decode steps of ``batch`` requests after a ``prompt`` (every
    ``stride``-th step and the last; the others linear between). ``on_step(done, total)`` after
    each simulated step."""
    if min(prompt, tokens, stride, batch) < 1:
        raise PrismError(f"decode: prompt, tokens, stride and batch must be >= 1 (got {prompt}, {tokens}, "
                         f"{stride}, {batch})")
    _, step = llm_builders(model)
    todo = sampled(tokens, stride)
    runs: dict[int, tuple[int, float, int]] = {}
    out = Decode(model, arch.name, prompt, batch, stride)
    for i, t in enumerate(todo):
        wl = place_kv(step(prompt + t, batch), kv_cache)
        mapping = make_mapping(strategy, wl, arch)
        res = simulate_plan(build_plan(arch, wl, mapping), trace="none", noc=noc)[0]
        runs[t] = (res.latency_ps, res.energy_pj, res.macs)
        if t == tokens - 1:
            out.kv = kv_capacity(arch, wl, mapping, prompt + t, batch)
        if on_step is not None:
            on_step(i + 1, len(todo))
    for t in range(tokens):
        if t in runs:
            lat, e, macs = runs[t]
        else:
            lo = max(s for s in todo if s < t)
            hi = min(s for s in todo if s > t)
            w = (t - lo) / (hi - lo)
            lat, e, macs = (int(round(runs[lo][k] + w * (runs[hi][k] - runs[lo][k]))) if k != 1
                            else runs[lo][1] + w * (runs[hi][1] - runs[lo][1]) for k in range(3))
        out.steps.append({"t": t, "context": prompt + t, "latency_ps": lat, "energy_pj": e, "macs": macs,
                          "simulated": t in runs})
    return out
