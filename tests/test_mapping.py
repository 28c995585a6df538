import pytest

from prismsim.hw.errors import PrismError
from prismsim.mapper.mapping import Mapping, Schedule, split_counts, validate
from prismsim.mapper.strategies import make_mapping
from prismsim.mapper.zoo import mlp, pythia_70m


def _mapping(**over):
    layers = {"fc1": {"rr0": 1.0}, "relu1": {"dg": 1.0}, "fc2": {"pt0": 0.5, "pt1": 0.5},
              "relu2": {"dg": 1.0}, "fc3": {"dg": 1.0}}
    layers.update(over)
    return Mapping(layers)


def test_valid_mapping_round_trips_yaml(arch):
    m = _mapping()
    m.schedule = Schedule("pipelined", 4)
    validate(m, arch, mlp())
    back = Mapping.from_yaml(m.to_yaml())
    assert back.layers == m.layers and back.schedule == m.schedule


@pytest.mark.parametrize("over,needle", [
    ({"fc1": {"nope": 1.0}}, "layer 'fc1': unit 'nope' is not in arch"),
    ({"fc2": {"pt0": 0.5, "pt1": 0.4}}, "layer 'fc2': shares sum to 0.9"),
    ({"relu1": {"pt0": 1.0}}, "layer 'relu1' cannot run on unit 'pt0'"),
    ({"ghost": {"dg": 1.0}}, "layer 'ghost' is not in model"),
])
def test_mapping_errors_name_layer_and_unit(arch, over, needle):
    with pytest.raises(PrismError, match=needle):
        validate(_mapping(**over), arch, mlp())


def test_missing_layer_is_never_skipped(arch):
    m = _mapping()
    del m.layers["relu2"]
    with pytest.raises(PrismError, match="layer 'relu2' has no shards"):
        validate(m, arch, mlp())


def test_dynamic_matmul_on_reram_is_rejected(arch):
    w = pythia_70m(seq_len=8)
    m = make_mapping("equal", w, arch)
    m.layers["l0.attn.qk"] = {"rr0": 1.0}
    with pytest.raises(PrismError, match="l0.attn.qk.*rr0.*dynamic matmul"):
        validate(m, arch, w)


def test_static_weights_that_do_not_fit(arch):
    w = pythia_70m(seq_len=8)
    m = make_mapping("equal", w, arch)
    m.layers["lm_head"] = {"rr1": 1.0}
    with pytest.raises(PrismError, match="lm_head.*rr1.*do not fit"):
        validate(m, arch, w)


@pytest.mark.parametrize("doc,needle", [
    ("layers: [1, 2]", "expected a mapping"),
    ("layers: {fc1: {rr0: -1}}", "share must be a finite number > 0"),
    ("layers: {fc1: {rr0: .inf}}", r"share must be a finite number > 0 \(got inf\)"),
    ("shedule: {kind: pipelined}\nlayers: {fc1: {rr0: 1}}", "field 'shedule' is not a mapping setting"),
    ("prismsim_mapping: 2\nlayers: {fc1: {rr0: 1}}", "reads version 1"),
    ("schedule: {kind: eager}\nlayers: {fc1: {rr0: 1}}", "schedule.kind: must be one of"),
    ("schedule: {chunks: 0}\nlayers: {fc1: {rr0: 1}}", r"mapping: field schedule.chunks: must be a whole number >= 1 \(got 0\)"),
    ("schedule: {program_weights: 1}\nlayers: {fc1: {rr0: 1}}", "schedule.program_weights: must be true or false"),
    ("schedule: {kind: pipelined, chunk: 4}\nlayers: {fc1: {rr0: 1}}", "schedule.chunk is not a schedule setting"),
    ("layers: {fc1: [", "not valid YAML"),
    ("layers: {fc1: {rr0: 1}}\nlayers: {fc1: {dg: 1}}", r"line 2, column 1: key 'layers' is given twice"),
])
def test_bad_mapping_files(doc, needle):
    with pytest.raises(PrismError, match=needle):
        Mapping.from_yaml(doc)


def test_shares_yaml_leaves_as_strings_still_read_as_numbers():
    # YAML 1.1 (PyYAML) reads 1e-3 as a string; the share is still the number it says
    assert Mapping.from_yaml("layers: {fc1: {rr0: 1e-3, rr1: '0.999'}}").layers == {"fc1": {"rr0": 1e-3, "rr1": 0.999}}


def test_split_counts_exact_and_deterministic():
    assert split_counts(10, [1, 1, 1]) == [4, 3, 3]
    assert split_counts(7, [0.5, 0.25, 0.25]) == [3, 2, 2]  # 3.5, 1.75, 1.75: largest remainders
    assert sum(split_counts(1000, [0.3, 0.3, 0.4])) == 1000


@pytest.mark.parametrize("strategy", ["homogeneous", "equal", "greedy"])
def test_strategies_produce_valid_mappings_on_every_preset(strategy):
    from prismsim.hw.spec import load_arch, list_presets
    w = pythia_70m()
    for preset in list_presets():
        a = load_arch(preset)
        if preset == "isaac":   # a CNN accelerator: nothing on it runs softmax, norms or embeddings
            with pytest.raises(PrismError, match="can run layer"):
                make_mapping(strategy, w, a)
            continue
        validate(make_mapping(strategy, w, a), a, w)


def test_homogeneous_keeps_one_kind_plus_digital():
    from prismsim.hw.spec import load_arch
    a = load_arch("hybrid")
    units = a.instances()
    m = make_mapping("homogeneous", pythia_70m(), a, kind="photonic")
    kinds = {units[u].kind for shards in m.layers.values() for u in shards}
    assert kinds == {"photonic", "digital"}
