import pytest

from prismsim.mapper.zoo import ZOO

PUBLISHED_GMACS = {  # totals the zoo must match within 0.5%
    "pythia-70m": 5.813,   # seq 128, lm_head included
    "bert-base": 11.17,    # seq 128
    "vit-b16": 17.56,
    "mobilevit-s": 2.001,  # 256x256
    "resnet18": 1.814,
    "resnet50": 4.089,
}


@pytest.mark.parametrize("name,gmacs", sorted(PUBLISHED_GMACS.items()))
def test_published_mac_totals(name, gmacs):
    assert abs(ZOO[name]().macs / 1e9 / gmacs - 1) < 0.005


def test_every_zoo_model_is_a_connected_dag_with_bytes():
    import networkx as nx
    for name, fn in ZOO.items():
        w = fn()
        assert nx.is_directed_acyclic_graph(w.graph), name
        assert nx.is_weakly_connected(w.graph), name
        assert all(lay.bytes_out > 0 and lay.bytes_in > 0 for lay in w.layers), name


def test_pythia_seq_len_scales_and_attention_is_dynamic():
    w = ZOO["pythia-70m"](seq_len=256)
    qk = w.layer("l0.attn.qk")
    assert qk.kind == "matmul" and not qk.static_weights and qk.batch == 8 and qk.m == 256
    assert w.layer("l0.attn.qkv").static_weights
    assert w.layer("lm_head").macs == 50304 * 512 * 256
