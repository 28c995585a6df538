"""Import an ONNX file (shapes by onnx shape inference; external weight data is never loaded).

MatMul / Gemm / Conv / ConvTranspose become GEMM layers (static when the weight is an initializer;
nodes using one initializer share its weights, ``Layer.weights``), Softmax,
LayerNormalization / BatchNormalization, pooling and element-wise operators become the
digital layers; Reshape, Transpose, Flatten and the like pass data through. A file with compute
the importer has no GEMM view of (LSTM, Einsum, quantized or contrib ops: ``UNMODELLED``) is
refused rather than imported without it. Needs the ``onnx`` extra.
"""
from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

from prismsim.hw.errors import PrismError, input_file

from ..workload import Builder, Workload

ELEMENTWISE = {"Add", "Sub", "Mul", "Div", "Relu", "Gelu", "Sigmoid", "Tanh", "Erf", "Pow", "Sqrt", "Clip",
               "HardSwish", "HardSigmoid", "LeakyRelu", "Neg", "Exp"}
NORMS = {"LayerNormalization", "BatchNormalization", "InstanceNormalization", "GroupNormalization"}
POOLS = {"MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "ReduceMean"}
UNMODELLED = {"LSTM", "GRU", "RNN", "Einsum", "MatMulInteger", "ConvInteger", "QLinearMatMul", "QLinearConv",
              "Attention", "MultiHeadAttention"}   # compute the importer has no GEMM view of (yet)


def onnx_workload(path: str | Path) -> Workload:
    try:
        import onnx
        from onnx import shape_inference
    except ImportError:
        raise PrismError("--model FILE.onnx needs the onnx extra: pip install 'prismsim[onnx]'") from None
    p = input_file(path, "--model")
    try:
        model = shape_inference.infer_shapes(onnx.load(str(p), load_external_data=False))
    except Exception as err:  # onnx raises many kinds on a bad file
        raise PrismError(f"--model {p}: not a readable ONNX model ({str(err).splitlines()[0][:150]})") from None
    g = model.graph
    shapes: dict[str, list[int]] = {}
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        dims = [d.dim_value if d.HasField("dim_value") else 1 for d in vi.type.tensor_type.shape.dim]
        shapes[vi.name] = dims
    inits = {t.name: list(t.dims) for t in g.initializer}
    shapes.update(inits)
    b = Builder(p.stem)
    producer: dict[str, str] = {}
    names: Counter = Counter()
    unmodelled: Counter = Counter()

    def add(node, kind, n, d, m, batch=1, static=False, data_inputs=(), weights=""):
        base = node.name or f"{node.op_type.lower()}"
        names[base] += 1
        lname = base if names[base] == 1 else f"{base}#{names[base]}"
        srcs = list(dict.fromkeys(producer[x] for x in data_inputs if x in producer))
        elems = sum(math.prod(shapes.get(x, [1])) for x in data_inputs) or 1
        b.add(lname, kind, max(1, n), max(1, d), max(1, m), batch=max(1, batch), static=static,
              inputs=srcs, input_elements=None if srcs else elems, weights=weights if static else "")
        for o in node.output:
            producer[o] = lname

    for node in g.node:
        op, ins = node.op_type, list(node.input)
        out = shapes.get(node.output[0], []) if node.output else []
        if op in ("MatMul", "Gemm"):
            a, w = ins[0], ins[1]
            sa, sw = shapes.get(a, []), shapes.get(w, [])
            trans_b = any(at.name == "transB" and at.i for at in node.attribute)
            if len(sw) == 2:
                k, n = (sw[1], sw[0]) if trans_b else (sw[0], sw[1])
                m = math.prod(sa[:-1]) if sa else 1
                add(node, "gemm" if w in inits else "matmul", n, k, m, static=w in inits,
                    data_inputs=[a] + ([] if w in inits else [w]), weights=w)
            else:  # batched matmul of activations
                batch = math.prod(sa[:-2]) if len(sa) > 2 else 1
                add(node, "matmul", sw[-1], sw[-2], sa[-2], batch=batch, data_inputs=[a, w])
        elif op == "Conv":
            x, w = ins[0], ins[1]
            sw = shapes.get(w, [])
            groups = next((at.i for at in node.attribute if at.name == "group"), 1)
            pixels = (out[0] if out else 1) * math.prod(out[2:]) if out else 1
            add(node, "conv", sw[0] // groups, math.prod(sw[1:]), pixels, batch=groups, static=w in inits,
                data_inputs=[x], weights=w)
        elif op == "ConvTranspose":  # W (C_in, C_out/g, k..): every input pixel scatters C_out/g x k.. outputs
            x, w = ins[0], ins[1]
            sw, sx = shapes.get(w, []), shapes.get(x, [])
            groups = next((at.i for at in node.attribute if at.name == "group"), 1)
            pixels = sx[0] * math.prod(sx[2:]) if sx else 1
            add(node, "conv", math.prod(sw[1:]), sw[0] // groups, pixels, batch=groups, static=w in inits,
                data_inputs=[x], weights=w)
        elif op in UNMODELLED:
            unmodelled[op] += 1
        elif op == "Softmax":
            add(node, "softmax", out[-1] if out else 1, 1, math.prod(out[:-1]) if out else 1, data_inputs=ins[:1])
        elif op in NORMS:
            c = out[1] if op != "LayerNormalization" and len(out) > 1 else (out[-1] if out else 1)
            add(node, "norm", c, 1, max(1, math.prod(out) // max(c, 1)), data_inputs=ins[:1])
        elif op in POOLS:
            xin = shapes.get(ins[0], [1])
            c = out[1] if len(out) > 1 else 1
            add(node, "pool", c, max(1, math.prod(xin) // max(1, math.prod(out))), max(1, math.prod(out) // c),
                data_inputs=ins[:1])
        elif op in ELEMENTWISE and any(x in producer for x in ins):
            last = out[-1] if out else 1
            add(node, "elementwise", last, 1, max(1, math.prod(out) // max(last, 1)),
                data_inputs=[x for x in ins if x in producer])
        else:  # pass-through (Reshape, Transpose, Flatten, Concat of one producer, ...)
            src = next((producer[x] for x in ins if x in producer), None)
            if src is not None:
                for o in node.output:
                    producer[o] = src
    if unmodelled:  # their multiply-accumulates would silently go missing
        raise PrismError(f"--model {p}: operators prismsim cannot model yet: "
                         f"{', '.join(f'{k} ({v})' for k, v in sorted(unmodelled.items()))}; "
                         "export them unrolled into MatMul / Conv")
    if not b.g.number_of_nodes():
        raise PrismError(f"--model {p}: no operators prismsim can map")
    return b.build()
