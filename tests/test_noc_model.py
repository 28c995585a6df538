"""The packet model against hand-derived timings (cycle = 1000 ps, R = 4, L = 1, 8-flit packets)."""
from conftest import small_arch

from prismsim.sim.noc import Network

C = 1000


def net(**noc):
    return Network(small_arch(**noc))


def test_single_packet_zero_load_is_closed_form():
    n = net()
    # (0,0) -> (2,1): 3 hops, 4 routers; 256 B = 8 flits of 32 B
    assert n.send((0, 0), (2, 1), 256, 0) == ((3 + 1) * 4 + 3 * 1 + 8) * C


def test_packets_pipeline_at_the_link_rate():
    n = net()
    assert n.send((0, 0), (2, 0), 3 * 256, 1000) == 1000 + ((2 + 1) * 4 + 2 + 8 + 2 * 8) * C


def test_partial_last_packet_serializes_its_own_flits():
    n = net()
    assert n.send((0, 0), (1, 0), 256 + 32, 0) == (2 * 4 + 1 + 8 + 1) * C


def test_shared_link_serializes_two_transfers():
    n = net()
    a = n.send((0, 0), (2, 0), 256, 0)
    b = n.send((0, 0), (2, 0), 256, 0)
    assert b == a + 8 * C


def test_one_slot_buffers_stall_on_the_credit_loop():
    # buffer = one packet: the next packet may cross only after the previous tail left the
    # downstream buffer, so packets are spaced L + R + 8 = 13 cycles instead of 8.
    assert net(buffer_flits=8).send((0, 0), (1, 0), 3 * 256, 0) == 43 * C
    assert net(buffer_flits=16).send((0, 0), (1, 0), 3 * 256, 0) == 33 * C


def test_full_buffer_backpressure_reaches_upstream_links():
    # B fills the ejection port at (2,0); A's packets wait in (2,0)'s buffer, and with one slot
    # they hold back the link (1,0)->(2,0) behind them.
    deep, shallow = net(buffer_flits=64), net(buffer_flits=8)
    for n in (deep, shallow):
        n.send((1, 0), (2, 0), 4 * 256, 0)
    assert shallow.send((0, 0), (2, 0), 4 * 256, 0) > deep.send((0, 0), (2, 0), 4 * 256, 0)


def test_ideal_network_has_latency_only():
    n = Network(small_arch(), ideal=True)
    assert n.send((0, 0), (2, 1), 10 ** 6, 5) == 5 + (4 * 4 + 3) * C
