"""A DNN as a networkx DAG of layers, with exact shapes, MACs and bytes."""
from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field

import networkx as nx

from prismsim.hw.errors import PrismError
from prismsim.hw.ops import ALL_KINDS, Op


@dataclass(frozen=True)
class Layer:
    """One operator. GEMM view: Y[n x m] = W[n x d] . X[d x m], ``batch`` times (see ``hw.ops``).

    bytes_in / bytes_out are activation bytes (weights excluded); ``info`` keeps source-level
    shapes (conv kernel, stride, ...) for reports. ``weights`` names the static weight matrix:
    layers naming the same one use one matrix (the steps of LLM decode, a reused module), which a
    weight-resident unit then holds once; empty: the layer's own.
    """

    name: str
    kind: str
    n: int
    d: int
    m: int
    batch: int = 1
    static_weights: bool = False
    bytes_in: int = 0
    bytes_out: int = 0
    act_bits: int = 8
    weight_bits: int = 8
    info: dict = field(default_factory=dict, compare=False, hash=False)
    weights: str = ""

    @property
    def weight_key(self) -> str:
        """The name of the static weight matrix this layer uses (``weights``, else its own name)."""
        return self.weights or self.name

    @property
    def weight_shape(self) -> tuple:
        """What layers sharing a weight matrix must agree on."""
        return self.kind, self.n, self.d, self.batch, self.static_weights, self.weight_bits

    @functools.cached_property
    def op(self) -> Op:   # kept: mappers and the plan ask for it hundreds of thousands of times on LLMs
        return Op(self.kind, self.n, self.d, self.m, self.batch, self.static_weights, self.act_bits, self.weight_bits)

    @property
    def macs(self) -> int:
        return self.op.macs


class Workload:
    """A DAG of ``Layer``s. Edge attributes: ``fraction`` of the producer's output the consumer
    reads (default 1) and ``stream`` (True: chunk i needs the producer's chunk i; False: it needs
    the whole tensor, e.g. the keys of attention)."""

    def __init__(self, name: str, graph: nx.DiGraph, input_bytes: dict[str, int], parts: dict[str, str] | None = None):
        self.name = name
        self.graph = graph
        self.input_bytes = input_bytes  # bytes each source layer reads from DRAM
        self.parts = parts or {}        # layer -> the model it belongs to, when models share a run
        order = {n: i for i, n in enumerate(graph.nodes)}
        self.order: list[str] = list(nx.lexicographical_topological_sort(graph, key=order.__getitem__))
        # layer -> the first layer (in order) using its weight matrix: itself unless it shares one
        self.weight_owner: dict[str, str] = {}
        first: dict[str, Layer] = {}
        for lay in self.layers:
            owner = first.setdefault(lay.weight_key, lay)
            if owner.weight_shape != lay.weight_shape:
                raise PrismError(f"model {name}: layers {owner.name!r} and {lay.name!r} share weights "
                                 f"{lay.weights!r} but not their shape")
            self.weight_owner[lay.name] = owner.name

    @property
    def layers(self) -> list[Layer]:
        return [self.graph.nodes[n]["layer"] for n in self.order]

    def layer(self, name: str) -> Layer:
        return self.graph.nodes[name]["layer"]

    @property
    def macs(self) -> int:
        return sum(lay.macs for lay in self.layers)

    def producers(self, name: str) -> list[tuple[str, float, bool]]:
        return [(u, d.get("fraction", 1.0), d.get("stream", True)) for u, _, d in self.graph.in_edges(name, data=True)]

    def sinks(self) -> list[str]:
        return [n for n in self.order if self.graph.out_degree(n) == 0]


class Builder:
    """Adds layers in program order; wires inputs; computes bytes from shapes."""

    def __init__(self, name: str, act_bits: int = 8, weight_bits: int = 8):
        self.name = name
        self.g = nx.DiGraph()
        self.act_bits, self.weight_bits = act_bits, weight_bits
        self.input_bytes: dict[str, int] = {}
        self.weight_shapes: dict[str, tuple] = {}   # weights -> the weight_shape of their first layer

    def _bytes(self, elements: int) -> int:
        return (elements * self.act_bits + 7) // 8

    def add(self, name: str, kind: str, n: int, d: int, m: int, batch: int = 1, static: bool = False,
            inputs: list | tuple = (), input_elements: int | None = None, weights: str = "", **info) -> str:
        """``inputs``: producer names, or (name, fraction, stream) tuples. A layer without inputs
        reads ``input_elements`` (default: its d x m x batch operand) from DRAM. ``weights``: see
        ``Layer``; a layer naming weights an earlier layer used in another shape (a transposed
        reuse) gets a matrix of its own."""
        if kind not in ALL_KINDS:
            raise ValueError(f"unknown layer kind {kind!r}")
        if name in self.g:
            raise ValueError(f"layer {name!r} defined twice")
        if min(n, d, m, batch) < 1:  # e.g. an image smaller than a patch or a stage's stride
            raise PrismError(f"model {self.name}: layer {name!r} would be empty (n={n}, d={d}, m={m}, "
                             f"batch={batch}): the input is too small for it")
        edges = []
        for inp in inputs:
            src, frac, stream = (inp, 1.0, True) if isinstance(inp, str) else (tuple(inp) + (True,))[:3]
            edges.append((src, frac, stream))
        bytes_in = sum(int(self.g.nodes[s]["layer"].bytes_out * f) for s, f, _ in edges)
        if not edges:
            bytes_in = self._bytes(input_elements if input_elements is not None else batch * d * m)
            self.input_bytes[name] = bytes_in
        layer = Layer(name, kind, n, d, m, batch, static, bytes_in, self._bytes(batch * n * m),
                      self.act_bits, self.weight_bits, info, weights)
        if weights and self.weight_shapes.setdefault(weights, layer.weight_shape) != layer.weight_shape:
            layer = dataclasses.replace(layer, weights=f"{weights}[{kind} {n}x{d}x{batch}]")
        self.g.add_node(name, layer=layer)
        for s, f, stream in edges:
            self.g.add_edge(s, name, fraction=f, stream=stream)
        return name

    def gemm(self, name: str, n_out: int, d_in: int, tokens: int, inputs=(), **kw) -> str:
        return self.add(name, "gemm", n_out, d_in, tokens, static=True, inputs=inputs, **kw)

    def eltwise(self, name: str, n: int, m: int, inputs=(), batch: int = 1, **kw) -> str:
        return self.add(name, "elementwise", n, 1, m, batch=batch, inputs=inputs, **kw)

    def norm(self, name: str, n: int, m: int, inputs=()) -> str:
        return self.add(name, "norm", n, 1, m, inputs=inputs)

    def mlp(self, sizes: tuple[int, ...], tokens: int) -> str:
        """Fully connected layers fc1, fc2, ... of ``sizes`` (input first) with relu1, relu2, ...
        between them; returns the last layer's name."""
        x = self.gemm("fc1", sizes[1], sizes[0], tokens)
        for i in range(2, len(sizes)):
            relu = self.eltwise(f"relu{i - 1}", sizes[i - 1], tokens, [x])
            x = self.gemm(f"fc{i}", sizes[i], sizes[i - 1], tokens, [relu])
        return x

    def conv(self, name: str, cin: int, cout: int, k: int, stride: int, hw: tuple[int, int],
             inputs=(), groups: int = 1, pad: int | None = None, batch: int = 1) -> tuple[str, tuple[int, int]]:
        """2D conv as im2col GEMM: N = C_out/g, D = C_in/g * k * k, M = output pixels x batch."""
        pad = k // 2 if pad is None else pad
        h = (hw[0] + 2 * pad - k) // stride + 1
        w = (hw[1] + 2 * pad - k) // stride + 1
        nm = self.add(name, "conv", cout // groups, cin // groups * k * k, h * w * batch, batch=groups,
                      static=True, inputs=inputs, input_elements=cin * hw[0] * hw[1] * batch,
                      cin=cin, cout=cout, kernel=k, stride=stride, groups=groups, out_hw=(h, w))
        return nm, (h, w)

    def build(self) -> Workload:
        return Workload(self.name, self.g, self.input_bytes)
