"""The packet model against hand-derived timings (cycle = 1000 ps, R = 4, L = 1, 8-flit packets)."""
import simpy
from hypothesis import given, settings, strategies as st

from conftest import small_arch
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
    # (0,0) -> (2,1): 3 hops, 4 routers; 256 B = 8 flits of 32 B
    assert deliver([((0, 0), (2, 1), 256, 0)]) == [((3 + 1) * 4 + 3 * 1 + 8) * C]


def test_packets_pipeline_at_the_link_rate():
    assert deliver([((0, 0), (2, 0), 3 * 256, 1000)]) == [1000 + ((2 + 1) * 4 + 2 + 8 + 2 * 8) * C]


def test_partial_last_packet_serializes_its_own_flits():
    assert deliver([((0, 0), (1, 0), 256 + 32, 0)]) == [(2 * 4 + 1 + 8 + 1) * C]


def test_shared_link_serializes_two_transfers():
    a, b = deliver([((0, 0), (2, 0), 256, 0), ((0, 0), (2, 0), 256, 0)])
    assert b == a + 8 * C


def test_one_slot_buffers_stall_on_the_credit_loop():
    # one packet per buffer: the next packet may cross only after the previous tail left the
    # downstream buffer, so packets are spaced L + R + 8 = 13 cycles instead of 8.
    assert deliver([((0, 0), (1, 0), 3 * 256, 0)], buffer_flits=8) == [43 * C]
    assert deliver([((0, 0), (1, 0), 3 * 256, 0)], buffer_flits=16) == [33 * C]


def test_full_buffer_backpressure_reaches_upstream_links():
    # B keeps the ejection port at (2,0) busy; A's packets wait in (2,0)'s input buffer and, with
    # one slot, hold back the link (1,0)->(2,0) and the buffer behind it.
    sends = [((1, 0), (2, 0), 8 * 256, 0), ((0, 0), (2, 0), 8 * 256, 0)]
    deep = deliver(sends, buffer_flits=64)
    shallow = deliver(sends, buffer_flits=8)
    assert shallow[1] > deep[1]


def test_ideal_network_has_latency_only():
    assert deliver([((0, 0), (2, 1), 10 ** 6, 5)], ideal=True) == [5 + (4 * 4 + 3) * C]


def test_network_stops_short_of_events_its_callbacks_schedule():
    # A's delivery schedules, 1 cycle later, a one-packet send B over the link (1,0)->(2,0) that a
    # long transfer X holds packet after packet. First come, first served puts B between two of
    # X's packets, so X ends one packet (8 cycles) later than alone; a network that ran ahead of
    # B's start would have let all of X through unaffected.
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
    assert done["X"] == alone + 8 * C
    assert done["B"] < done["X"] - 16 * 8 * C


def test_network_time_never_goes_back(monkeypatch):
    # every channel grant happens in time order, deliveries that call the engine included
    from prismsim.hw.spec import load_arch
    from prismsim.mapper.plan import build_plan
    from prismsim.mapper.strategies import make_mapping
    from prismsim.mapper.zoo import ZOO
    from prismsim.sim.engine import simulate_plan

    class Grants:
        def __init__(self):
            self.starts = []

        def row(self, start, end, kind, unit, layer, *rest):
            if layer == "":  # a channel hold (trace level "packets")
                self.starts.append(start)

    arch, wl = load_arch("hybrid"), ZOO["pythia-70m"](seq_len=1)
    plan = build_plan(arch, wl, make_mapping("greedy", wl, arch))
    rec = Grants()
    _, ahead = simulate_plan(plan, recorder=rec, trace="packets")
    assert len(rec.starts) > 1000
    assert all(x <= y for x, y in zip(rec.starts, rec.starts[1:]))
    # and running ahead of SimPy changes no time of any job or transfer
    monkeypatch.setattr(Network, "lookahead", False)
    _, step = simulate_plan(plan, trace="none")
    assert (ahead.job_start, ahead.job_end, ahead.tr_issue, ahead.tr_end) == \
        (step.job_start, step.job_end, step.tr_issue, step.tr_end)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5), st.integers(1, 2000), st.integers(0, 30),
                          st.integers(-1, 20)), min_size=1, max_size=25))
def test_running_ahead_changes_nothing(sends):
    # Transfers start at a time or, chained, a delay after another one lands (scheduled from its
    # callback as the simulator does). Running ahead of SimPy must give exactly the times a network
    # that stops at every event time gives, deliver every byte once and grant in time order.
    nodes = [(x, y) for y in range(2) for x in range(3)]

    def play(lookahead: bool):
        class Grants:  # trace level "packets": a row per channel hold, at its grant time
            def row(self, start, *rest):
                grants.append(start)

        grants = []
        a = small_arch()
        env = simpy.Environment()
        net = Network(env, a.noc, a.memories(), recorder=Grants())
        net.lookahead = lookahead
        done = [None] * len(sends)
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
            for c in children.get(i, []):
                start(c, t)

        for i, (_, _, _, _, parent) in enumerate(sends):
            if not 0 <= parent < i:
                start(i, 0)
        net.run()
        assert net.bytes_delivered == net.bytes_sent == sum(x[2] for x in sends)
        assert grants == sorted(grants)
        return done

    assert play(True) == play(False)


def test_a_transfer_is_cut_into_packets_one_at_a_time():
    # memory stays bounded however big a transfer: its source queue holds its next packet only
    a = small_arch()
    net = Network(simpy.Environment(), a.noc, a.memories())
    net.send((0, 0), (2, 1), 1000 * a.noc.packet_bytes)
    src = net.route((0, 0), (2, 1))[0][0]
    assert len(src.queue) == 1 and net.packets == net.in_flight == 1000
    net.run()
    assert net.bytes_delivered == 1000 * a.noc.packet_bytes and not src.queue
