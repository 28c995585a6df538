"""Serving sweeps: request streams as sweep points (``prismsim sweep`` with a ``serve:`` table).

A sweep file with a ``serve`` table makes every point a request stream (``sim/serve.py``) on the
point's chip, model and strategy; axes named ``serve.<setting>`` sweep the stream's settings
beside the arch's fields::

    base: hybrid
    models: [pythia-70m]
    serve: {requests: 500, prompt: 128, decode_tokens: 64}
    axes:
      serve.rate: [500, 1000, 1500]
      serve.max_batch: [4, 8]
      serve.scheduler: [continuous, fcfs]
      noc.link_width_bits: [256, 512]

A point's row holds the stream's metrics (throughput, tokens/s, TTFT and TPOT p50/p99,
utilization) and, for the sweep's report and Pareto front, ``latency_ps`` = its TTFT p99 and
``energy_pj`` = the chip's energy per request served.
"""
from __future__ import annotations

import math
from typing import Any

from prismsim.hw.errors import PrismError, shown
from prismsim.mapper.kv_cache import PLACES

from .serve import ARRIVALS, SCHEDULERS, run_stream, service_times

DEFAULTS: dict[str, Any] = {"requests": 200, "prompt": 128, "decode_tokens": 64, "max_batch": 8,
                            "scheduler": "continuous", "arrivals": "poisson", "kv_tokens": None, "seed": 0,
                            "noc": "router", "kv_cache": "dram"}
SETTINGS = set(DEFAULTS) | {"rate"}
WHOLE = {"requests": (1, 1_000_000), "prompt": (1, 100_000), "decode_tokens": (1, 100_000),
         "max_batch": (1, 4096), "kv_tokens": (1, 10 ** 12), "seed": (0, 2 ** 63 - 1)}


def check(name: str, value: Any, where: str) -> None:
    """Raise a PrismError naming ``where`` unless ``value`` is a valid stream setting ``name``."""
    if name not in SETTINGS:
        raise PrismError(f"{where}: {name!r} is not a serving setting (known: {', '.join(sorted(SETTINGS))})")
    if name in WHOLE:
        lo, hi = WHOLE[name]
        if not (value is None and name == "kv_tokens") and (isinstance(value, bool) or not isinstance(value, int)
                                                           or not lo <= value <= hi):
            raise PrismError(f"{where}: {name} must be a whole number in {lo}..{hi} (got {shown(value)})")
    elif name == "rate":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value > 0):
            raise PrismError(f"{where}: rate must be a finite number > 0 requests/s (got {shown(value)})")
    else:
        allowed = {"scheduler": SCHEDULERS, "arrivals": ARRIVALS, "noc": ("router", "flow"), "kv_cache": PLACES}[name]
        if value not in allowed:
            raise PrismError(f"{where}: {name} must be one of {', '.join(allowed)} (got {shown(value)})")


def check_table(doc: Any, axes: dict, models: list, where: str) -> dict:
    """The sweep file's ``serve`` table, checked, with the defaults filled in; ``axes`` may set
    ``serve.*``. A rate must come from the table or an axis."""
    if not isinstance(doc, dict):
        raise PrismError(f"{where}: field serve must be a table of serving settings (got {shown(doc)})")
    for k, v in doc.items():
        check(str(k), v, f"{where}: field serve")
    swept = {str(k).removeprefix("serve.") for k in axes if str(k).startswith("serve.")}
    if "rate" not in doc and "rate" not in swept:
        raise PrismError(f"{where}: field serve: give a rate (serve.rate or an axis serve.rate)")
    bad = next((m for m in models if str(m).split("?")[0] != "pythia-70m" and not str(m).startswith("hf:")), None)
    if bad is not None:
        raise PrismError(f"{where}: field models: a serving sweep runs an LLM with batched decode steps, pythia-70m "
                         f"or hf:TYPE (got {shown(bad)})")
    return {**DEFAULTS, **doc}


def evaluate(arch, model: str, strategy: str, settings: dict, cache: dict) -> dict:
    """A point's stream: its metrics, TTFT p99 as ``latency_ps`` and energy per request as
    ``energy_pj``. Service times are simulated once per (chip, model, strategy, shape)."""
    s = settings
    key = (arch.model_dump_json(), model, strategy, s["prompt"], s["decode_tokens"], s["max_batch"], s["noc"],
           s["kv_cache"])
    if key not in cache:
        cache[key] = service_times(arch, model, s["prompt"], s["decode_tokens"], s["max_batch"], strategy, s["noc"],
                                   s["kv_cache"])
    cap = min(cache[key].kv.tokens, s["kv_tokens"] or cache[key].kv.tokens)
    r = run_stream(cache[key], float(s["rate"]), s["requests"], s["decode_tokens"], s["prompt"], s["max_batch"],
                   s["scheduler"], s["arrivals"], cap, s["seed"])
    keep = ("throughput_rps", "tokens_per_s", "ttft_p50_ps", "ttft_p99_ps", "tpot_p50_ps", "tpot_p99_ps",
            "queueing_mean_ps", "utilization", "served", "refused", "energy_per_request_pj")
    return {**{f"serve:{k}": r[k] for k in keep}, "latency_ps": r["ttft_p99_ps"],
            "energy_pj": r["energy_per_request_pj"], "edp": r["ttft_p99_ps"] * r["energy_per_request_pj"],
            "macs": None, "area_mm2": None}
