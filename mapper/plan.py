"""The execution plan of a mapping: jobs (a shard of a layer, one chunk, on one unit) and the
transfers between them, each with its ``hw`` cost. The analytical model and the event-driven
simulator both play this same plan; they differ only in scheduling, contention and data movement.

Data movement: each consumer chunk receives, from each producer chunk, the part of the producer's
output it reads (regions in normalised token x channel space: a GEMM shard computing output rows
reads every input channel of its tokens, an aligned token split reads only its own tokens);
activations go from the producing unit straight to each consuming unit, or, when
a transfer is larger than the consumer's own buffer, through the global buffer (through DRAM when
it does not fit there either); static weights stream from DRAM to units that do not hold them
(ReRAM and SRAM-PIM units hold theirs); model inputs come from DRAM and model outputs go back to it.
With several memory controllers (``dram.channels``) each unit uses the one fewest hops away.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from prismsim.hw.cost import Cost
from prismsim.hw.memory import mem_cost, mem_latency_ps
from prismsim.hw.noc import (check_deadlock_free, head_latency_ps, port_cycles_per_flit, route, serialization_ps,
                             transfer_energy)
from prismsim.hw.ops import GEMM_KINDS
from prismsim.hw.spec import Arch, Unit
from prismsim.hw.errors import PrismError
from prismsim.hw.reram import array_memory, mode_switch_cost
from prismsim.hw.units import (RESIDENT, feed_wait_ps, local_weight_bytes, streamed_weight_bytes, unit_cost,
                               write_cost, writes_per_cell_limit)

from .gcpause import fewer_collections
from .mapping import Mapping, held_weights, shard_op, split_counts, validate
from .row_blocks import split_rows
from .workload import Workload

DRAM, GB = "dram", "gb"


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
    kind: str = "compute"   # compute | write (programming static weights) | switch (array modes)
    feed_wait_ps: int = 0   # of its time, waiting for operands beyond the arrays' reads (hw.units.feed_wait_ps)

    @property
    def trace_kind(self) -> str:
        """Its kind in the event trace: compute, switch, or memory (a weight write)."""
        return self.kind if self.kind in ("compute", "switch") else "memory"


@dataclass
class Transfer:
    """``nbytes`` from ``src`` to ``dst`` (unit names, ``dram`` or ``gb``), issued when the
    ``after`` jobs have ended and the ``after_tr`` transfers have arrived."""

    id: int
    src: str
    dst: str
    src_node: tuple[int, ...]
    dst_node: tuple[int, ...]
    nbytes: int
    after: list[int]
    layer: str          # the layer this data is for (its producer, for model outputs)
    kind: str           # activation | staging | weight | input | output
    hops: int
    noc_energy: dict[str, float]
    mem_energy: dict[str, float]
    ideal_ps: int       # latency with infinite bandwidth and no contention
    zero_load_ps: int   # latency with real bandwidth and no contention
    after_tr: list[int] = field(default_factory=list)


@dataclass
class Plan:
    arch: Arch
    workload: Workload
    mapping: Mapping
    units: dict[str, Unit]
    jobs: list[Job]
    transfers: list[Transfer]
    writes_per_cell: dict[str, int] = field(default_factory=dict)  # per weight-resident unit, over the run
    mems: dict = field(default_factory=dict)  # memory endpoints: dram, gb and memory-mode arrays

    @property
    def macs(self) -> int:
        return sum(j.macs for j in self.jobs)


def _chunk_sizes(m: int, chunks: int) -> list[int]:
    return split_counts(m, [1.0] * min(m, chunks))


def transfer_times(arch: Arch, src_node, dst_node, nbytes: int, src_mem: str | None = None,
                   dst_mem: str | None = None, mems: dict | None = None) -> tuple[int, int]:
    """(ideal, zero-load) latency in ps of one transfer on an idle network; ``src_mem`` /
    ``dst_mem`` name a memory endpoint (``dram``, ``gb``, arrays in memory mode) whose latency
    and bandwidth apply."""
    noc, mems = arch.noc, (mems if mems is not None else arch.memories())
    ends = [mems[m] for m in (src_mem, dst_mem) if m]
    path = route(noc, src_node, dst_node)
    ideal = head_latency_ps(noc, path) + sum(mem_latency_ps(m) for m in ends)
    per = [port_cycles_per_flit(noc, mems[m].bandwidth_gbps if m else None) for m in (src_mem, dst_mem)]
    return ideal, ideal + serialization_ps(noc, path, nbytes, *per)


Region = tuple[float, float, float, float]  # tokens [t0, t1) x channels [c0, c1), normalised to [0, 1)


def shard_regions(mapping: Mapping, layer, counts: list[int]) -> list[Region]:
    """Output region of each shard: a token (column) interval for ``cols`` splits, a channel
    (row: feature, head, group) interval for ``rows`` splits."""
    cols = mapping.split_of(layer.name) == "cols"
    total = layer.op.m if cols else layer.op.split_size
    out, cum = [], 0
    for c in counts:
        a, b = cum / total, (cum + c) / total
        out.append((a, b, 0.0, 1.0) if cols else (0.0, 1.0, a, b))
        cum += c
    return out


def chunk_regions(region: Region, sizes: list[int]) -> list[Region]:
    """A shard's region cut along its tokens into pipeline chunks of ``sizes`` columns."""
    t0, t1, c0, c1 = region
    total, cum, out = sum(sizes), 0, []
    for s in sizes:
        out.append((t0 + (t1 - t0) * cum / total, t0 + (t1 - t0) * (cum + s) / total, c0, c1))
        cum += s
    return out


def input_need(op, split: str, out: Region) -> Region:
    """The part of a layer's input a chunk with output region ``out`` reads: its own tokens;
    every channel when it splits tokens or computes output rows of a GEMM (each output row needs
    every input channel), else its own channels."""
    t0, t1, c0, c1 = out
    if split == "cols" or (op.kind in GEMM_KINDS and op.split_dim == "n"):
        c0, c1 = 0.0, 1.0
    return (t0, t1, c0, c1)


def area(r: Region) -> float:
    return (r[1] - r[0]) * (r[3] - r[2])


def build_plan(arch: Arch, workload: Workload, mapping: Mapping, check: bool = True) -> Plan:
    """Expand a (validated) mapping into jobs and transfers."""
    if check:
        validate(mapping, arch, workload)
    with fewer_collections():
        return _build(arch, workload, mapping)


def _build(arch: Arch, workload: Workload, mapping: Mapping) -> Plan:
    """``build_plan`` of a validated mapping."""
    workload = split_rows(workload, mapping.blocks)   # operators larger than the chip, as row blocks
    units = arch.instances()
    mems = dict(arch.memories())
    dram_of = {u: arch.nearest_dram(x.pos) for u, x in units.items()}   # each unit's memory controller
    staging: dict[int, list[str]] = {}   # segment -> memory-mode endpoints
    for seg, modes in sorted(mapping.modes.items()):
        for u, n in modes.items():
            if n:
                name = f"arrays:{u}#{seg}"
                mems[name] = array_memory(units[u].params, n, units[u].pos)
                staging.setdefault(seg, []).append(name)
    pipelined = mapping.schedule.kind == "pipelined"
    n_chunks = mapping.schedule.chunks if pipelined else 1
    jobs: list[Job] = []
    transfers: list[Transfer] = []
    # layer -> shards: (unit, count, job id per chunk, m per chunk, output region per chunk)
    placed: dict[str, list[tuple]] = {}
    prev_layer_jobs: dict[str, list[int]] = {}   # per model (co-located models run side by side)
    writes: dict[str, int] = {}
    write_of: dict[tuple, int] = {}    # (segment, unit, weight slice) -> the job that wrote it
    seg_jobs: dict[int, list[int]] = {}
    current_seg = -1
    switched: dict[str, int] = {}      # unit -> its mode-switch job in the current segment
    seg_barrier: list[int] = []        # every job of the previous segment

    def node(u: str):
        return tuple(mems[u].position) if u in mems else units[u].pos

    priced: dict[tuple, tuple] = {}   # (src, dst, bytes) -> hops, energies, times: LLM steps repeat them

    def add_transfer(src: str, dst: str, nbytes: int, after: list[int], layer: str, kind: str,
                     after_tr: list[int] | None = None) -> int:
        sn, dn = node(src), node(dst)
        key = (src, dst, nbytes)
        if key not in priced:
            src_mem, dst_mem = (src if src in mems else None), (dst if dst in mems else None)
            path = route(arch.noc, sn, dn)
            mem_e: dict[str, float] = {}
            for m in (src_mem, dst_mem):
                if m:
                    for k, v in mem_cost(mems[m], nbytes).energy_pj.items():
                        mem_e[k] = mem_e.get(k, 0.0) + v
            priced[key] = (len(path) - 1, transfer_energy(arch.noc, path, nbytes).energy_pj, mem_e,
                           *transfer_times(arch, sn, dn, nbytes, src_mem, dst_mem, mems))
        n_hops, noc_e, mem_e, ideal, zl = priced[key]
        t = Transfer(len(transfers), src, dst, sn, dn, nbytes, after, layer, kind, n_hops,
                     noc_e, mem_e, ideal, zl, after_tr or [])
        transfers.append(t)
        return t.id

    def send_activation(src: str, dst: str, nbytes: int, after: list[int], layer: str, seg: int,
                        cut: bool = False) -> int:
        """Direct when it fits the consumer's buffer, else staged: into the consumer's own arrays in
        memory mode (which extend its buffer), else through the nearest memory-mode arrays that
        hold it, else the global buffer, else DRAM. Data live across a segment cut (``cut``) is
        written back to the global buffer or DRAM: the arrays change modes and weights there."""
        if nbytes <= units[dst].params.buffer_kib * 1024:
            return add_transfer(src, dst, nbytes, after, layer, "activation")
        room = [] if cut else [m for m in staging.get(seg, []) if nbytes <= mems[m].capacity_bytes]
        own = f"arrays:{dst}#{seg}"
        if own in room:  # the consumer's own arrays in memory mode extend its buffer: one NoC crossing
            return add_transfer(src, own, nbytes, after, layer, "staging")
        if room:
            stage = min(room, key=lambda m: (len(route(arch.noc, tuple(mems[m].position), units[dst].pos)), m))
        else:
            stage = GB if nbytes <= mems[GB].capacity_bytes else dram_of[dst]
        first = add_transfer(src, stage, nbytes, after, layer, "staging")
        return add_transfer(stage, dst, nbytes, [], layer, "staging", after_tr=[first])

    costed: dict[tuple, tuple] = {}            # (unit params, kind, op, feed arrays) -> cost, feed wait
    local_used: dict[str, int] = {}            # bytes of weights each non-resident unit keeps
    local_held: set[tuple[str, tuple]] = set()

    def kept_locally(uname: str, piece: tuple, nbytes: int) -> bool:
        """Whether a unit's local weight memory holds this slice: preloaded first come first
        served while it fits (as after a model load); the rest streams from DRAM."""
        if (uname, piece) in local_held:
            return True
        if local_used.get(uname, 0) + nbytes <= local_weight_bytes(units[uname]):
            local_used[uname] = local_used.get(uname, 0) + nbytes
            local_held.add((uname, piece))
            return True
        return False

    for lname in workload.order:
        layer = workload.layer(lname)
        op = layer.op
        split = mapping.split_of(lname)
        seg = mapping.segment_of(lname)
        if seg != current_seg:  # a new segment: arrays change modes, then weights are reloaded
            seg_barrier = seg_jobs.get(current_seg, []) if current_seg >= 0 else []
            switched = {}
            for u, unit in units.items():
                before = mapping.memory_arrays(current_seg, u) if current_seg >= 0 else 0
                change = abs(mapping.memory_arrays(seg, u) - before)
                if change and unit.kind == "reram":
                    switched[u] = len(jobs)
                    jobs.append(Job(len(jobs), lname, u, -1, -1, mode_switch_cost(unit.params, change), 0,
                                    list(seg_barrier), [], "switch"))
                    seg_jobs.setdefault(seg, []).append(switched[u])
            current_seg = seg
        part = workload.parts.get(lname, "")
        barrier = list(seg_barrier) if pipelined else list(prev_layer_jobs.get(part, []))
        producers = workload.producers(lname)
        shards = []
        this_layer_jobs: list[int] = []
        resolved = held_weights(mapping, layer)
        feed = mapping.feed_of(lname)
        regions = shard_regions(mapping, layer, [c for _, c, _ in resolved])
        for si, (uname, count, piece) in enumerate(resolved):
            unit = units[uname]
            sop = shard_op(mapping, layer, count)
            sizes = _chunk_sizes(sop.m, n_chunks)
            cregs = chunk_regions(regions[si], sizes)
            ids: list[int] = []
            written: list[int] = []
            program = (mapping.schedule.program_weights or seg > 0) and unit.kind in RESIDENT and sop.weight_bytes
            if program and (seg, uname, piece) in write_of:  # weights this unit holds already (shared)
                written.append(write_of[seg, uname, piece])
            elif program:
                # model load, or a segment's weight reload: from DRAM, written before the unit computes
                write_of[seg, uname, piece] = len(jobs)
                after = list(seg_barrier) + ([switched[uname]] if uname in switched else [])
                w_in = add_transfer(dram_of[uname], uname, streamed_weight_bytes(unit, sop), list(seg_barrier), lname, "weight")
                written.append(len(jobs))
                jobs.append(Job(len(jobs), lname, uname, si, -1, write_cost(unit, sop), 0, after, [w_in], "write"))
                seg_jobs.setdefault(seg, []).append(written[-1])
                writes.setdefault(uname, set()).add(seg)
            for ci, mc in enumerate(sizes):
                cop = sop.cols(mc)
                deps = list(barrier) + ([ids[-1]] if ids else written)
                inputs: list[int] = []
                if ci == 0 and sop.weight_bytes and unit.kind not in RESIDENT \
                        and not kept_locally(uname, piece, streamed_weight_bytes(unit, sop)):
                    inputs.append(add_transfer(dram_of[uname], uname, streamed_weight_bytes(unit, sop),
                                               list(barrier), lname, "weight"))
                kv = layer.info.get("kv_cache")   # a KV cache kept in the unit's own buffer is read in place
                if not producers and kv != "units":
                    nb = int(round(workload.input_bytes[lname] * area(input_need(op, split, cregs[ci]))))
                    if nb:
                        src = GB if kv == "gb" else dram_of[uname]
                        inputs.append(add_transfer(src, uname, nb, list(barrier), lname, "input"))
                jid = len(jobs)
                if uname in switched and not written:
                    deps.append(switched[uname])
                ckey = (id(unit.params), unit.kind, cop, feed)   # a unit group's equal shards cost alike
                if ckey not in costed:
                    costed[ckey] = (unit_cost(unit, cop, feed), feed_wait_ps(unit, cop, feed))
                jobs.append(Job(jid, lname, uname, si, ci, costed[ckey][0], cop.macs, deps, inputs,
                                feed_wait_ps=costed[ckey][1]))
                ids.append(jid)
                this_layer_jobs.append(jid)
                seg_jobs.setdefault(seg, []).append(jid)
            shards.append((uname, count, ids, sizes, cregs, [sop.cols(mc).out_elements * layer.act_bits / 8 for mc in sizes]))
        # each producer chunk sends each consumer chunk the part of its output that chunk reads
        # (across a non-streaming edge, all of it goes to the consumer shard's first chunk)
        streamed = [(cu, [(cid, input_need(op, split, creg)) for cid, creg in zip(cids, cregs)])
                    for (cu, _, cids, _, cregs, _) in shards]
        whole = [(cu, [(cids[0], (0.0, 1.0) + input_need(op, split, cregs[0])[2:])])
                 for (cu, _, cids, _, cregs, _) in shards]
        for pname, frac, stream in producers:
            cut = mapping.segment_of(pname) != seg
            for (pu, _, pids, _, pregs, pbytes) in placed[pname]:
                for pj, preg, p_bytes in zip(pids, pregs, pbytes):
                    p_area = area(preg)
                    if not p_area:
                        continue
                    t0, t1, c0, c1 = preg
                    for cu, targets in (streamed if stream else whole):
                        for cid, need in targets:   # the area both regions cover (inline: millions of pairs on LLMs)
                            dt = (t1 if t1 < need[1] else need[1]) - (t0 if t0 > need[0] else need[0])
                            dc = (c1 if c1 < need[3] else need[3]) - (c0 if c0 > need[2] else need[2])
                            if dt <= 0 or dc <= 0:
                                continue
                            share = dt * dc / p_area
                            nb = int(round(p_bytes * frac * share))
                            if cu == pu or nb == 0:
                                jobs[cid].deps.append(pj)
                            else:
                                jobs[cid].inputs.append(send_activation(pu, cu, nb, [pj], lname, seg, cut))
        placed[lname] = shards
        prev_layer_jobs[part] = this_layer_jobs
    for lname in workload.sinks():  # model outputs back to DRAM
        for (u, _, ids, _, _, pbytes) in placed[lname]:
            for jid, p_bytes in zip(ids, pbytes):
                nb = int(round(p_bytes))
                add_transfer(u, dram_of[u], nb, [jid], lname, "output")
    if arch.noc.route_table:  # user routes: prove them free of routing deadlock first
        check_deadlock_free(arch.noc, {(t.src_node, t.dst_node) for t in transfers})
    counts = {u: len(segs) for u, segs in writes.items()}  # a cell is rewritten once per reload
    for u, n in counts.items():
        if n > writes_per_cell_limit(units[u]):
            raise PrismError(f"unit {u!r}: {n} writes per cell in this run exceed its endurance of "
                             f"{writes_per_cell_limit(units[u]):g} writes")
    return Plan(arch, workload, mapping, units, jobs, transfers, counts, mems)
