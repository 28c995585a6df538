"""Serving speed (issue 26): 1,000 Pythia-70M requests of 64 output tokens, target <= 60 s on 2 cores.

    python benchmarks/bench_serve.py [--requests N] [--out FILE.json]

Times the service-time simulations (the prefill and a decode step per batch size, event by event on
the router model) and the request streams at four arrival rates, with the process's peak RSS.
"""
from __future__ import annotations

import argparse
import resource
import time

from common import machine, save
from prismsim.hw.spec import load_arch
from prismsim.sim.serve import run_stream, service_times


def measure(requests: int, rates=(500, 1000, 1500, 2000), prompt: int = 128, tokens: int = 64,
            max_batch: int = 8) -> dict:
    t0 = time.perf_counter()
    times = service_times(load_arch("hybrid"), "pythia-70m", prompt, tokens, max_batch)
    t1 = time.perf_counter()
    rows = [run_stream(times, r, requests, tokens, prompt, max_batch) for r in rates]
    t2 = time.perf_counter()
    return {"requests": requests, "decode_tokens": tokens, "service_times_s": round(t1 - t0, 2),
            "streams_s": round(t2 - t1, 2), "total_s": round(t2 - t0, 2),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "prefill_ps": times.prefill_ps, "step_ps": times.step_ps,
            "rows": [{k: r[k] for k in ("rate", "throughput_rps", "ttft_p50_ps", "ttft_p99_ps", "tpot_p50_ps",
                                        "utilization")} for r in rows]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    doc = {"benchmark": "serve", "machine": machine(), **measure(args.requests)}
    print(f"{args.requests} requests x 64 tokens at 4 rates: {doc['total_s']} s (service times "
          f"{doc['service_times_s']} s, streams {doc['streams_s']} s), peak RSS {doc['peak_rss_mb']} MB")
    save(doc, args.out)


if __name__ == "__main__":
    main()
