import pytest

from prismsim.hw.spec import parse_arch


def small_arch(**noc):
    """2 photonic, 2 ReRAM (small), 1 digital on a 3x2 mesh: fast to simulate."""
    return parse_arch({
        "name": "small",
        "units": [
            {"name": "pt", "kind": "photonic", "count": 2, "positions": [[1, 0], [2, 0]],
             "params": {"tiles": 1, "cores_per_tile": 1}},
            {"name": "rr", "kind": "reram", "count": 2, "positions": [[0, 1], [1, 1]],
             "params": {"crossbars": 128}},
            {"name": "dg", "kind": "digital", "count": 1, "positions": [[2, 1]], "params": {"lanes": 16}},
        ],
        "dram": {"position": [0, 0]},
        "global_buffer": {"position": [0, 0]},
        "noc": {"dims": [3, 2], **noc},
    }, "test arch")


@pytest.fixture
def arch():
    return small_arch()
