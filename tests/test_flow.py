"""The flow-level network (``--noc flow``): max–min fairness on hand-built cases, its zero-load
time against the router model, and its error against the router model on a small model."""
import pytest
import simpy

from conftest import small_arch
from prismsim.hw.noc import head_latency_ps, route, serialization_ps
from prismsim.sim.flow import FlowNetwork, _Flow, max_min_rates

C = 1000


def flows(*paths):
    return [_Flow(tuple(p), 100, 0, None, 0, None, 0, i) for i, p in enumerate(paths)]


def test_two_flows_on_one_link_get_half_each():
    f = flows(["a", "L", "b"], ["c", "L", "d"])
    max_min_rates(f, {"a": 1.0, "b": 1.0, "c": 1.0, "d": 1.0, "L": 1.0})
    assert [x.rate for x in f] == [0.5, 0.5]


def test_a_bottleneck_elsewhere_frees_bandwidth():
    # flow 0 is held to 0.25 by its own slow port; flow 1 takes the rest of the shared link
    f = flows(["slow", "L"], ["fast", "L"])
    max_min_rates(f, {"slow": 0.25, "fast": 1.0, "L": 1.0})
    assert [x.rate for x in f] == [0.25, 0.75]
    three = flows(["L"], ["L", "M"], ["M"])
    max_min_rates(three, {"L": 1.0, "M": 0.5})
    assert [x.rate for x in three] == [0.75, 0.25, 0.25]


def deliver(sends, **noc):
    a = small_arch(**noc)
    env = simpy.Environment()
    net = FlowNetwork(env, a.noc, a.memories())
    done = [None] * len(sends)
    for i, (s, d, nb) in enumerate(sends):
        net.send(s, d, nb, on_done=lambda t, i=i: done.__setitem__(i, t))
    net.run()
    assert net.bytes_delivered == net.bytes_sent == sum(x[2] for x in sends) and not net.flows
    return done


def test_a_lone_transfer_takes_the_router_models_zero_load_time():
    a = small_arch()
    for src, dst in (((0, 0), (2, 1)), ((1, 1), (0, 0))):
        for nb in (32, 256, 10 * 256 + 7):
            path = route(a.noc, src, dst)
            assert deliver([(src, dst, nb)]) == [head_latency_ps(a.noc, path) + serialization_ps(a.noc, path, nb)]


def test_a_port_sends_its_flows_in_turn_until_the_buffers_ahead_take_the_rest():
    """As the router model's endpoints, a source port sends its transfers one after another, but
    the next starts once what is left of the current one fits the input buffers along its route
    (one VC's, ``buffer_flits`` a router): from then on the two share the port."""
    one, = deliver([((0, 0), (2, 0), 64 * 32)])
    a, b = deliver([((0, 0), (2, 0), 64 * 32), ((0, 0), (2, 1), 64 * 32)])
    # A's 63 flits after its first: 15 alone, then its last 48 (3 routers x 16) at half the port
    # beside B; B (its 63 fit its 4 routers' 64) sends 48 beside A, its last 15 alone, and its
    # route is a hop longer (5 cycles of head latency)
    assert a - one == 48 * C and b - a == (15 + 5) * C


def test_rates_are_solved_once_per_instant(monkeypatch):
    """Flows that start together cost one solve, not one each: the rates of an instant that takes
    no time move no flit."""
    import prismsim.sim.flow as flow
    solves = []
    real = flow.max_min_rates
    monkeypatch.setattr(flow, "max_min_rates", lambda *a, **k: (solves.append(1), real(*a, **k))[1])
    sends = [((0, 0), (2, 1), 64 * 32), ((1, 0), (2, 0), 64 * 32), ((0, 1), (1, 1), 64 * 32)]
    assert deliver(sends) == [148 * C, 138 * C, 75 * C]
    # one solve as the three start at one instant (three before), then one per later change
    assert len(solves) == 5


def test_a_long_queue_at_one_port_drains_in_order_at_the_ports_rate():
    done = deliver([((0, 0), (2, 1), 100 * 32)] * 2000)   # 100 flits each, a flit a cycle at most
    assert done == sorted(done) and done[-1] >= 2000 * 99 * C   # each flit after a first


def test_flow_against_router_on_a_small_model(tmp_path, capsys):
    from prismsim.sim.cli import main
    assert main(["validate", "--noc", "flow", "--model", "mlp", "--out", str(tmp_path / "v"), "--no-progress"]) == 0
    out = capsys.readouterr().out
    err = float(out.split("error ")[1].split("%")[0])
    assert abs(err) < 5 and (tmp_path / "v" / "validation.csv").exists()


def test_simulate_with_the_flow_network_records_it(tmp_path):
    import json
    from prismsim.sim.cli import main
    assert main(["simulate", "--noc", "flow", "--model", "mlp", "--out", str(tmp_path / "r"), "--no-progress"]) == 0
    assert json.loads((tmp_path / "r" / "summary.json").read_text())["noc_model"] == "flow"


@pytest.mark.parametrize("model", ["resnet18", "pythia-70m?seq_len=32"])
def test_flow_within_five_percent_of_the_router_model_on_hybrid(model):
    """The stated error (benchmarks/compare_flow.py: every zoo model on hybrid within 4%)."""
    from prismsim.hw.spec import load_arch
    from prismsim.mapper.load import load_model
    from prismsim.mapper.plan import build_plan
    from prismsim.mapper.strategies import make_mapping
    from prismsim.sim.engine import simulate_plan
    arch, wl = load_arch("hybrid"), load_model(model)
    plan = build_plan(arch, wl, make_mapping("greedy", wl, arch))
    router, _ = simulate_plan(plan, trace="none")
    flow, _ = simulate_plan(plan, trace="none", noc="flow")
    assert abs(flow.latency_ps / router.latency_ps - 1) < 0.05
