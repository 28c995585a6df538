"""The execution plan of a mapping: jobs (a shard of a layer, one chunk, on one unit) and the
transfers between them, each with its ``hw`` cost. The analytical model and the event-driven
simulator both play this same plan; they differ only in scheduling, contention and data movement.
"""
from __future__ import annotations

from dataclasses import dataclass

from prismsim.hw.cost import Cost
from prismsim.hw.memory import dram_cost, dram_ps
from prismsim.hw.noc import flits_ps, head_latency_ps, hops, transfer_energy
from prismsim.hw.ops import GEMM_KINDS
from prismsim.hw.spec import Arch, Unit
from prismsim.hw.units import unit_cost

from .mapping import Mapping, resolve, split_counts, validate
from .workload import Workload

DRAM = "dram"


@dataclass
class Job:
    id: int
    layer: str
    unit: str
    shard: int
    chunk: int
    cost: Cost
    macs: int
    deps: list[int]     # jobs that must end before this one may start
    inputs: list[int]   # transfers that must arrive before this one may start


@dataclass
class Transfer:
    """``nbytes`` from ``src`` to ``dst`` (unit names or ``dram``), issued when ``after`` jobs end."""

    id: int
    src: str
    dst: str
    src_node: tuple[int, int]
    dst_node: tuple[int, int]
    nbytes: int
    after: list[int]
    layer: str          # the layer this data is for (its producer, for writes to DRAM)
    kind: str           # activation | weight | input | output
    hops: int
    noc_energy: dict[str, float]
    dram_energy: dict[str, float]
    ideal_ps: int       # latency with infinite bandwidth and no contention
    zero_load_ps: int   # latency with real bandwidth and no contention


@dataclass
class Plan:
    arch: Arch
    workload: Workload
    mapping: Mapping
    units: dict[str, Unit]
    jobs: list[Job]
    transfers: list[Transfer]

    @property
    def macs(self) -> int:
        return sum(j.macs for j in self.jobs)


def _chunk_sizes(m: int, chunks: int) -> list[int]:
    return split_counts(m, [1.0] * min(m, chunks))


def transfer_times(arch: Arch, src_node, dst_node, nbytes: int, from_dram: bool, to_dram: bool) -> tuple[int, int]:
    """(ideal, zero-load) latency in ps of one transfer on an idle network."""
    noc, n_hops = arch.noc, hops(src_node, dst_node)
    dram_lat = int(round(arch.dram.latency_ns * 1000)) if (from_dram or to_dram) else 0
    ideal = head_latency_ps(noc, n_hops) + dram_lat
    nflits = -(-nbytes // noc.flit_bytes)
    ser = flits_ps(noc, nflits)
    if from_dram or to_dram:
        ser = max(ser, dram_ps(arch.dram, nbytes))
    return ideal, ideal + ser


def build_plan(arch: Arch, workload: Workload, mapping: Mapping, check: bool = True) -> Plan:
    """Expand a validated mapping into jobs and transfers."""
    if check:
        validate(mapping, arch, workload)
    units = arch.instances()
    dram_node = arch.dram_node
    pipelined = mapping.schedule.kind == "pipelined"
    n_chunks = mapping.schedule.chunks if pipelined else 1
    jobs: list[Job] = []
    transfers: list[Transfer] = []
    # layer -> list of shards; each shard: (unit, rows, [job ids per chunk], [chunk m sizes])
    placed: dict[str, list[tuple[str, int, list[int], list[int]]]] = {}
    prev_layer_jobs: list[int] = []

    def node(u: str):
        return dram_node if u == DRAM else units[u].pos

    def add_transfer(src: str, dst: str, nbytes: int, after: list[int], layer: str, kind: str) -> int:
        sn, dn = node(src), node(dst)
        n_hops = hops(sn, dn)
        ideal, zl = transfer_times(arch, sn, dn, nbytes, src == DRAM, dst == DRAM)
        dram_e = dram_cost(arch.dram, nbytes).energy_pj if DRAM in (src, dst) else {}
        t = Transfer(len(transfers), src, dst, sn, dn, nbytes, after, layer, kind, n_hops,
                     transfer_energy(arch.noc, n_hops, nbytes).energy_pj, dram_e, ideal, zl)
        transfers.append(t)
        return t.id

    for lname in workload.order:
        layer = workload.layer(lname)
        op = layer.op
        sizes = _chunk_sizes(op.m, n_chunks)
        barrier = [] if pipelined else list(prev_layer_jobs)
        shards = []
        producers = workload.producers(lname)
        this_layer_jobs: list[int] = []
        for si, (uname, rows) in enumerate(resolve(mapping, layer)):
            unit = units[uname]
            sop = op.rows(rows)
            # bytes of the layer's input this shard reads: all of it when it splits output rows
            # of a GEMM (every row needs every input), else its own share
            need = 1.0 if (op.kind in GEMM_KINDS and op.split_dim == "n") else rows / op.split_size
            ids: list[int] = []
            for ci, mc in enumerate(sizes):
                cop = sop.cols(mc)
                jid = len(jobs)
                deps = list(barrier) + ([ids[-1]] if ids else [])
                inputs: list[int] = []
                if ci == 0 and sop.weight_bytes and unit.kind != "reram":
                    inputs.append(add_transfer(DRAM, uname, sop.weight_bytes, list(barrier), lname, "weight"))
                if not producers:
                    nb = int(round(workload.input_bytes[lname] * mc / op.m * need))
                    if nb:
                        inputs.append(add_transfer(DRAM, uname, nb, list(barrier), lname, "input"))
                jobs.append(Job(jid, lname, uname, si, ci, unit_cost(unit, cop), cop.macs, deps, inputs))
                ids.append(jid)
                this_layer_jobs.append(jid)
            shards.append((uname, rows, ids, sizes))
        # data from producers: producer chunk j goes to the first consumer chunk it overlaps
        for pname, frac, stream in producers:
            player = workload.layer(pname)
            for (pu, prow, pids, psizes) in placed[pname]:
                cp = len(pids)
                for j, pj in enumerate(pids):
                    p_bytes = player.op.rows(prow).cols(psizes[j]).out_elements * player.act_bits / 8
                    for (cu, crow, cids, _csz) in shards:
                        cc = len(cids)
                        target = cids[(j * cc) // cp] if stream else cids[0]
                        need = 1.0 if (op.kind in GEMM_KINDS and op.split_dim == "n") else crow / op.split_size
                        nb = int(round(p_bytes * frac * need))
                        if cu == pu or nb == 0:
                            jobs[target].deps.append(pj)
                        else:
                            jobs[target].inputs.append(add_transfer(pu, cu, nb, [pj], lname, "activation"))
        placed[lname] = shards
        prev_layer_jobs = this_layer_jobs
    # model outputs back to DRAM
    for lname in workload.sinks():
        layer = workload.layer(lname)
        for (u, rows, ids, sizes) in placed[lname]:
            for j, jid in enumerate(ids):
                nb = int(round(layer.op.rows(rows).cols(sizes[j]).out_elements * layer.act_bits / 8))
                add_transfer(u, DRAM, nb, [jid], lname, "output")
    return Plan(arch, workload, mapping, units, jobs, transfers)
