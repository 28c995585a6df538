"""The router model in a run's network against hand-derived timings (cycle = 1000 ps, stages RC,
VA, SA, ST of one cycle, 1-cycle links delivering at 2 cycles as BookSim's, 32 B flits, 8-flit
packets, 2 VCs x 16 flits). A lone transfer of F flits over h links takes
4 + (h + 1) * 3 + 2h cycles for its first flit and one cycle per further flit."""
import pytest
import simpy
from hypothesis import given, settings, strategies as st

from conftest import small_arch
from prismsim.hw.noc import head_latency_ps, route, serialization_ps
from prismsim.sim.noc import Network

C = 1000


def deliver(sends, ideal=False, **noc):
    """Run transfers (src, dst, bytes, start_ps) concurrently; return each one's delivery time."""
    a = small_arch(**noc)
    env = simpy.Environment()
    net = Network(env, a.noc, a.memories(), ideal=ideal)
    done = [None] * len(sends)

    def start(i, s, d, nb, t0):
        yield env.timeout(t0)
        net.send(s, d, nb, on_done=lambda t: done.__setitem__(i, t))

    for i, (s, d, nb, t0) in enumerate(sends):
        env.process(start(i, s, d, nb, t0))
    net.run()
    assert net.bytes_delivered == net.bytes_sent == sum(x[2] for x in sends)
    return done


def test_single_packet_zero_load_is_closed_form():
    # (0,0) -> (2,1): 3 links, 4 routers; 256 B = 8 flits of 32 B
    assert deliver([((0, 0), (2, 1), 256, 0)]) == [(4 + 4 * 3 + 3 * 2 + 7) * C]


def test_packets_stream_at_a_flit_per_cycle_with_two_vcs():
    assert deliver([((0, 0), (2, 0), 3 * 256, 1000)]) == [1000 + (4 + 3 * 3 + 2 * 2 + 23) * C]


def test_partial_last_packet_serializes_its_own_flits():
    assert deliver([((0, 0), (1, 0), 256 + 32, 0)]) == [(4 + 2 * 3 + 2 + 8) * C]


def test_one_vc_leaves_rc_and_va_bubbles_between_packets():
    # wormhole: the next packet's head allocates the VC only after the tail left, RC + VA = 2 cycles
    assert deliver([((0, 0), (1, 0), 3 * 256, 0)], vcs=1) == [(12 + 23 + 2 * 2) * C]


def test_closed_form_in_hw_is_the_models_zero_load():
    # the analytical model's zero-load time equals a lone transfer in the router model
    for vcs in (1, 2):
        a = small_arch(vcs=vcs)
        for src, dst in (((0, 0), (2, 1)), ((2, 1), (0, 0)), ((1, 0), (1, 1))):
            for nb in (32, 256, 3 * 256, 10 * 256 + 7):
                path = route(a.noc, src, dst)
                want = head_latency_ps(a.noc, path) + serialization_ps(a.noc, path, nb)
                assert deliver([(src, dst, nb, 0)], vcs=vcs) == [want]


def test_shallow_buffers_stall_on_the_credit_loop():
    # wormhole with buffers smaller than a packet; a credit comes back 5 cycles after its flit left
    # (ST 1, link 2, the next router's SA the cycle it arrives, credit link 2), so B credits pass
    # B flits per 5 cycles: 39 flits after the head take 39 + floor(39 / B) * (5 - B) cycles
    for b in (2, 3, 4, 5, 8):
        got = deliver([((0, 0), (1, 0), 40 * 32, 0)], vcs=1, buffer_flits=b, packet_flits=40)
        assert got == [(12 + 39 + (39 // b) * max(0, 5 - b)) * C], b


def test_shared_injection_port_serializes_two_transfers():
    a, b = deliver([((0, 0), (2, 0), 256, 0), ((0, 0), (2, 0), 256, 0)])
    assert b == a + 8 * C


def head_of_line(vcs: int) -> int:
    """When C, from the DRAM port at (0,0) to (1,1), arrives: it needs the link (0,0) -> (1,0) and
    the west buffer of (1,0) that A, (0,0) -> (2,0), holds with 64-flit packets (wormhole, 8-flit
    buffers) whose flits wait for the ejection port at (2,0) that B, (1,0) -> (2,0), shares."""
    a = small_arch(vcs=vcs, buffer_flits=8, packet_flits=64)
    env = simpy.Environment()
    net = Network(env, a.noc, a.memories())
    done = {}
    net.send((1, 0), (2, 0), 64 * 256, on_done=lambda t: done.__setitem__("B", t))
    net.send((0, 0), (2, 0), 64 * 256, on_done=lambda t: done.__setitem__("A", t))
    env.timeout(200 * C).callbacks.append(lambda _e: net.send(
        (0, 0), (1, 1), 256, on_done=lambda t: done.__setitem__("C", t), src_mem="dram"))
    net.run()
    return done["C"], done["A"]


def test_head_of_line_blocking_with_one_vc_and_its_cure_with_two():
    c1, _ = head_of_line(1)
    c2, _ = head_of_line(2)
    start = 200 * C + mem_latency(small_arch())  # C's first flit leaves the DRAM port
    a = small_arch()
    zero_load = head_latency_ps(a.noc, route(a.noc, (0, 0), (1, 1))) + 7 * C
    assert c2 - start < zero_load + 16 * C     # two VCs: C takes the other one and passes
    assert c1 - start > 3 * (c2 - start)       # one VC: C waits for A's packet, held up at (2,0)


def mem_latency(a) -> int:
    from prismsim.hw.memory import mem_latency_ps
    return mem_latency_ps(a.dram)


def test_ideal_network_has_latency_only():
    assert deliver([((0, 0), (2, 1), 10 ** 6, 5)], ideal=True) == [5 + (4 + 4 * 3 + 3 * 2) * C]


def test_network_stops_short_of_events_its_callbacks_schedule():
    # A's delivery schedules, 1 cycle later, a one-packet send B over the link (1,0)->(2,0) that a
    # long transfer X streams over. The switch at (1,0) alternates B's and X's flits, so X ends
    # later than alone; a network that ran ahead of B's start would have let all of X through.
    alone = deliver([((0, 0), (2, 0), 32 * 256, 0)])[0]
    a = small_arch()
    env = simpy.Environment()
    net = Network(env, a.noc, a.memories())
    done = {}

    def a_done(t):
        def send_b(_e):
            net.send((1, 0), (2, 0), 256, on_done=lambda tb: done.__setitem__("B", tb))
        env.timeout(t + C - env.now).callbacks.append(send_b)

    net.send((0, 0), (2, 0), 32 * 256, on_done=lambda t: done.__setitem__("X", t))
    net.send((0, 1), (0, 0), 256, on_done=a_done)
    net.run()
    assert alone < done["X"] <= alone + 8 * C
    assert done["B"] < done["X"] - 8 * 8 * C


def test_network_time_never_goes_back(monkeypatch):
    # deliveries happen in time order, those that call the engine included
    from prismsim.hw.spec import load_arch
    from prismsim.mapper.plan import build_plan
    from prismsim.mapper.strategies import make_mapping
    from prismsim.mapper.zoo import ZOO
    from prismsim.sim.engine import simulate_plan

    class Packets:
        def __init__(self):
            self.ends = []

        def row(self, start, end, kind, unit, layer, *rest):
            if layer == "":  # a packet (trace level "packets")
                assert start <= end
                self.ends.append(end)

    arch, wl = load_arch("hybrid"), ZOO["pythia-70m"](seq_len=1)
    plan = build_plan(arch, wl, make_mapping("greedy", wl, arch))
    rec = Packets()
    _, ahead = simulate_plan(plan, recorder=rec, trace="packets")
    assert len(rec.ends) > 200
    assert all(x <= y for x, y in zip(rec.ends, rec.ends[1:]))
    # and running ahead of SimPy changes no time of any job or transfer
    monkeypatch.setattr(Network, "lookahead", False)
    _, step = simulate_plan(plan, trace="none")
    assert (ahead.job_start, ahead.job_end, ahead.tr_issue, ahead.tr_end) == \
        (step.job_start, step.job_end, step.tr_issue, step.tr_end)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5), st.integers(1, 2000), st.integers(0, 30),
                          st.integers(-1, 20)), min_size=1, max_size=25))
def test_running_ahead_changes_nothing(sends):
    # Transfers start at a time or, chained, a delay after another one lands (scheduled from its
    # callback as the simulator does). Running ahead of SimPy must give exactly the times a network
    # that stops every cycle gives, and deliver every byte once, in time order.
    nodes = [(x, y) for y in range(2) for x in range(3)]

    def play(lookahead: bool):
        a = small_arch()
        env = simpy.Environment()
        net = Network(env, a.noc, a.memories())
        net.lookahead = lookahead
        done = [None] * len(sends)
        order = []
        children = {}
        for i, (_, _, _, _, parent) in enumerate(sends):
            if 0 <= parent < i:
                children.setdefault(parent, []).append(i)

        def start(i, t):
            s, d, nb, delay, _ = sends[i]

            def go(_e):
                net.send(nodes[s], nodes[d], nb, on_done=lambda te: landed(i, te))
            env.timeout(t + delay * C - env.now).callbacks.append(go)

        def landed(i, t):
            done[i] = t
            order.append(t)
            for c in children.get(i, []):
                start(c, t)

        for i, (_, _, _, _, parent) in enumerate(sends):
            if not 0 <= parent < i:
                start(i, 0)
        net.run()
        assert net.bytes_delivered == net.bytes_sent == sum(x[2] for x in sends)
        assert order == sorted(order)
        return done

    assert play(True) == play(False)


def test_a_transfer_is_cut_into_packets_as_it_is_injected():
    # memory stays bounded however big a transfer: it is one pool row until its packets are cut
    a = small_arch()
    net = Network(simpy.Environment(), a.noc, a.memories())
    net.send((0, 0), (2, 1), 1000 * a.noc.packet_bytes)
    rn = net.rn
    assert rn.queued == 1 and rn.pk.shape[0] - rn.ctr[0] == 1 and net.packets == 1000
    net.run()
    assert net.bytes_delivered == 1000 * a.noc.packet_bytes and rn.queued == 0 and rn.in_flight == 0
    assert rn.pk.shape[0] == 4096  # the pool never grew: packets are cut as the source sends them


def test_memory_ports_move_at_the_memorys_bandwidth():
    # a slow DRAM: a read leaves at bandwidth / flit bytes flits per cycle, after the DRAM's latency
    from prismsim.hw.memory import mem_latency_ps
    a = small_arch()
    slow = a.model_copy(update={"dram": a.dram.model_copy(update={"bandwidth_gbps": 8.0})})
    env = simpy.Environment()
    net = Network(env, slow.noc, slow.memories())
    out = []
    net.send((0, 0), (2, 0), 64 * 32, on_done=out.append, src_mem="dram")
    net.run()
    head = head_latency_ps(a.noc, route(a.noc, (0, 0), (2, 0)))
    # 8 GB/s = 8 B per 1 ns cycle: a 32 B flit every 4 cycles, the last one 63 * 4 cycles after the
    # first; a body flit skips RC and VA, so it crosses the 3 routers 2 cycles faster each
    assert out == [mem_latency_ps(slow.dram) + 63 * 4 * C + head - 3 * 2 * C]


@pytest.mark.parametrize("noc", ["router", "flow"])
def test_a_memory_port_slower_than_a_flit_a_cycle_keeps_its_rate(noc):
    """The ``cmswitch`` preset's LPDDR4 (25.6 GB/s) behind 32-byte flits at 1 GHz sends a flit every
    1.25 cycles. The router model once rounded that to a flit every 2 cycles (16 GB/s), which made
    CMSwitch's Pythia-70M 36% slower than the flow model (1,498 against 1,099 us): a 1 MB stream now takes
    1 MB / 25.6 GB/s plus the route's latency in both."""
    from prismsim.hw.spec import load_arch
    from prismsim.sim.flow import FlowNetwork

    a = load_arch("cmswitch")
    env = simpy.Environment()
    mems = a.memories()
    net = (Network if noc == "router" else FlowNetwork)(env, a.noc, mems)
    dst = a.instances()["cim0"].pos
    out = []
    nbytes = 1 << 20
    net.send(mems["dram"].position, dst, nbytes, on_done=out.append, src_mem="dram")
    net.run()
    stream = nbytes / a.dram.bandwidth_gbps * 1000
    assert stream <= out[0] <= stream + head_latency_ps(a.noc, route(a.noc, tuple(mems["dram"].position), dst)) \
        + 1000 * mems["dram"].latency_ns + 2 * a.noc.cycle_ps
