"""Trace a PyTorch model into a Workload without weights: it runs on the meta device while a
``TorchDispatchMode`` records the aten ops and module hooks name them.

Recorded: mm / addmm (gemm), bmm / baddbmm (dynamic matmul unless an operand is a weight),
convolution (groups and depthwise; transposed as the GEMM that scatters each input pixel),
scaled-dot-product attention (flash, efficient and math paths: two dynamic matmuls and a
softmax), layer / batch / group norms, softmax, pooling,
embedding lookups and elementwise arithmetic and activations. Data dependencies follow tensors
through views; an operand derived from a module parameter is a static weight, and layers using
the same parameter share it (``Layer.weights``: the steps of a decode hold one copy). Needs the ``torch``
extra (torch==2.13.0 CPU build, transformers for ``hf:`` models).
"""
from __future__ import annotations

import math
import os
import sys
from collections import Counter

from prismsim.hw.errors import PrismError

from ..params import pop_phase, split_spec
from ..workload import Builder, Workload

ELEMENTWISE = {"add", "sub", "mul", "div", "gelu", "relu", "silu", "sigmoid", "tanh", "neg", "pow", "rsqrt",
               "exp", "hardswish", "hardsigmoid", "clamp", "maximum", "minimum", "where", "sqrt", "cos", "sin",
               "erf", "abs", "log"}
NORMS = {"native_layer_norm", "native_batch_norm", "_native_batch_norm_legit_no_training", "native_group_norm",
         "_native_batch_norm_legit"}
POOLS = {"max_pool2d_with_indices", "avg_pool2d", "_adaptive_avg_pool2d", "mean", "max_pool2d"}
SDPA = {"_scaled_dot_product_flash_attention", "_scaled_dot_product_efficient_attention",
        "_scaled_dot_product_flash_attention_for_cpu", "scaled_dot_product_attention",
        "_scaled_dot_product_attention_math"}


def trace(model, inputs: dict, name: str) -> Workload:
    """Run ``model(**inputs)`` on the meta device and record its operators as a Workload."""
    return trace_steps(model, [("", lambda: (inputs, ()))], name)


def trace_steps(model, steps: list, name: str) -> Workload:
    """Record several calls of one model into one Workload, in order: ``steps`` holds
    ``(prefix, make)`` pairs where ``make()`` returns ``(inputs, memory)``; ``memory`` are input
    tensors that live in memory (a KV cache), read by a ``kv_cache`` layer where the model
    concatenates onto them. Layer names get the prefix; each call's first operator waits for the
    previous call's output, of which it reads one element (the sampled token)."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode

    b = Builder(name)
    producer: dict[int, str] = {}     # id(tensor) -> layer that produced it (or None)
    also: dict[int, str] = {}         # id(tensor) -> a second producer (the KV cache read it extends)
    fraction: dict[int, float] = {}   # id(tensor) -> share of its producer's output it carries
    weight: dict[int, str] = {id(t): n for it in (model.named_parameters(), model.named_buffers())
                              for n, t in it}   # tensors derived from parameters -> the parameter's name
    memory: set[int] = set()          # tensors resident in memory (KV cache)
    keep: list = []                   # keep traced tensors alive so ids stay unique
    stack: list[str] = []
    names: Counter = Counter()
    prefix = ""

    def pre(mod_name):
        def hook(_m, _a):
            stack.append(mod_name)
        return hook

    def post(_m, _a, _o):
        stack.pop()

    hooks = []
    for mod_name, mod in model.named_modules():
        hooks.append(mod.register_forward_pre_hook(pre(mod_name or name)))
        hooks.append(mod.register_forward_hook(post))

    def tensors(x):
        if isinstance(x, torch.Tensor):
            yield x
        elif isinstance(x, (list, tuple)):
            for y in x:
                yield from tensors(y)

    def add(kind, op, n, d, m, batch=1, static=False, ins=(), stream_flags=None, w=None, **info):
        """Record a layer; ``w``: its static weight tensor (layers using one parameter share it);
        ``info``: kept in ``Layer.info``."""
        base = f"{prefix}{stack[-1] if stack else name}.{op}"
        names[base] += 1
        lname = base if names[base] == 1 else f"{base}#{names[base]}"
        srcs = []
        for i, t in enumerate(ins):
            stream = True if stream_flags is None else stream_flags[i]
            for p, f, st in ((producer.get(id(t)), fraction.get(id(t), 1.0), stream), (also.get(id(t)), 1.0, False)):
                if p and p not in [s[0] for s in srcs]:
                    srcs.append((p, f, st))
        b.add(lname, kind, max(1, n), max(1, d), max(1, m), batch=max(1, batch), static=static,
              inputs=srcs, input_elements=None if srcs else max(1, int(sum(t.numel() for t in ins)) or 1),
              weights=weight[id(w)] if static and w is not None else "", **info)
        return lname

    class Mode(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            out = func(*args, **kwargs)
            op = func.overloadpacket.__name__
            ins = [t for t in tensors(list(args) + list(kwargs.values()))]
            outs = list(tensors(out))
            keep.extend(outs)
            keep.extend(ins)   # every tensor seen stays alive: a freed one's id could be reused
            lname = None
            if op in ("mm", "addmm"):
                x, w = (args[1], args[2]) if op == "addmm" else (args[0], args[1])
                static = id(w) in weight
                lname = add("gemm" if static else "matmul", "linear" if static else "mm",
                            w.shape[1], x.shape[1], x.shape[0], static=static, ins=[x] + ([] if static else [w]), w=w)
            elif op in ("bmm", "baddbmm"):
                a_, b_ = (args[1], args[2]) if op == "baddbmm" else (args[0], args[1])
                static = id(b_) in weight
                lname = add("gemm" if static else "matmul", "bmm", b_.shape[2], a_.shape[2], a_.shape[1],
                            batch=a_.shape[0], static=static, ins=[a_] + ([] if static else [b_]),
                            stream_flags=[True, False], w=b_)
            elif op in ("convolution", "_convolution"):
                x, w = args[0], args[1]
                groups = int(args[8]) if len(args) > 8 else 1
                if len(args) > 6 and args[6]:  # transposed: W (C_in, C_out/g, k..) scatters every input pixel
                    n, d = int(math.prod(w.shape[1:])), w.shape[0] // groups   # to C_out/g x k.. outputs
                    pixels = int(x.shape[0]) * int(math.prod(x.shape[2:]))
                else:                          # W (C_out, C_in/g, k..) gathers for every output pixel
                    n, d = w.shape[0] // groups, int(math.prod(w.shape[1:]))
                    pixels = int(outs[0].shape[0]) * int(math.prod(outs[0].shape[2:]))
                lname = add("conv", "conv", n, d, pixels, batch=groups, static=id(w) in weight, ins=[x], w=w)
            elif op in SDPA:
                q, k, v = args[0], args[1], args[2]
                bh = int(math.prod(q.shape[:-2]))
                L, S, E, Ev = q.shape[-2], k.shape[-2], q.shape[-1], v.shape[-1]
                qk = add("matmul", "attn.qk", S, E, L, batch=bh, ins=[q, k], stream_flags=[True, False])
                producer[id(q)] = qk  # the softmax and av below read from qk's output
                sm_in = object()
                sm = add("softmax", "attn.softmax", S, 1, L, batch=bh, ins=[q])
                producer[id(sm_in)] = sm
                fake = _Tag(sm_in)
                producer[id(fake)] = sm
                lname = add("matmul", "attn.av", Ev, S, L, batch=bh, ins=[fake, v], stream_flags=[True, False])
            elif op == "embedding":
                w, idx = args[0], args[1]
                lname = add("embedding", "embedding", w.shape[1], 1, idx.numel(), ins=[idx])
            elif op == "cat" and any(id(t) in memory for t in ins):
                past = [t for t in ins if id(t) in memory]
                new = [t for t in ins if id(t) not in memory]
                rows = sum(int(t.shape[-2]) for t in past)   # cached tokens (dim -2 of (B, H, S, E))
                cache = add("embedding", "attn.kv_cache", sum(t.numel() for t in past) // max(1, rows), 1, rows,
                            ins=past, kv_cache="dram")      # no producer: read from memory
                for t in outs:
                    src = next((producer[id(x)] for x in new if id(x) in producer), None)
                    if src is not None:
                        producer[id(t)] = src
                    also[id(t)] = cache
                return out
            elif op in NORMS:
                x = args[0]
                lname = add("norm", "norm", x.shape[-1] if op == "native_layer_norm" else x.shape[1], 1,
                            x.numel() // (x.shape[-1] if op == "native_layer_norm" else x.shape[1]), ins=[x])
            elif op in ("_softmax", "softmax", "_log_softmax", "_safe_softmax"):
                x = args[0]
                lname = add("softmax", "softmax", x.shape[-1], 1, x.numel() // x.shape[-1], ins=[x])
            elif op in POOLS and outs:
                x, o = args[0], outs[0]
                window = max(1, x.numel() // max(1, o.numel()))
                lname = add("pool", "pool", o.shape[1] if o.dim() > 1 else 1, window,
                            o.numel() // (o.shape[1] if o.dim() > 1 else 1), ins=[x])
            elif op in ELEMENTWISE and outs and any(id(t) in producer for t in ins):
                o = outs[0]
                lname = add("elementwise", op, o.shape[-1] if o.dim() else 1, 1,
                            max(1, o.numel() // (o.shape[-1] if o.dim() else 1)),
                            ins=[t for t in ins if id(t) in producer])
            if lname is not None:
                for t in outs:
                    producer[id(t)] = lname
            else:  # views, copies and untracked ops pass provenance through
                src = next((producer[id(t)] for t in ins if id(t) in producer), None)
                cache = next((also[id(t)] for t in ins if id(t) in also), None)
                derived = next((weight[id(t)] for t in ins if id(t) in weight), None) if src is None else None
                for t in outs:
                    if cache is not None:
                        also[id(t)] = cache
                    if src is not None:
                        producer[id(t)] = src
                    elif derived:
                        weight[id(t)] = derived
            return out

    last = None
    try:
        for prefix, make in steps:
            inputs, resident = make()
            keep.extend(tensors(list(inputs.values())))
            memory = {id(t) for t in resident}
            for t in resident:  # read from memory, whichever earlier step wrote it
                producer.pop(id(t), None)
                also.pop(id(t), None)
            keep.extend(resident)
            names.clear()
            if last is not None:
                for t in tensors(list(inputs.values())):
                    if t.dtype in (torch.long, torch.int):  # token ids: the previous step's sample
                        lay = b.g.nodes[last]["layer"]   # one element of the logits
                        producer[id(t)], fraction[id(t)] = last, 1 / max(1, lay.batch * lay.n * lay.m)
            with torch.no_grad(), Mode():
                try:
                    out = model(**inputs)
                except PrismError:
                    raise
                except Exception as err:  # the model refuses its example inputs
                    raise PrismError(f"model {name}: its forward pass failed on the example inputs "
                                     f"({', '.join(inputs)}): {type(err).__name__}: {_first_line(err)}") from None
            logits = getattr(out, "logits", None)
            if logits is None:
                logits = next(tensors(out if isinstance(out, (list, tuple)) else [out]), None)
            last = producer.get(id(logits)) if logits is not None else None
    finally:
        for h in hooks:
            h.remove()
    if not b.g.number_of_nodes():
        raise PrismError(f"model {name}: no operators were recorded")
    return b.build()


class _Tag:
    """A stand-in tensor identity linking the softmax of a fused attention to its second matmul."""

    def __init__(self, ref):
        self.ref = ref


HF_PRESETS = {  # Hugging Face configs equal to the zoo's shape specs
    "pythia-70m": ("gpt_neox", {"hidden_size": 512, "num_hidden_layers": 6, "num_attention_heads": 8,
                                "intermediate_size": 2048, "vocab_size": 50304}),
    "bert-base": ("bert", {}),
    "resnet18": ("resnet", {"layer_type": "basic", "depths": [2, 2, 2, 2], "hidden_sizes": [64, 128, 256, 512],
                            "num_labels": 1000}),
    "resnet50": ("resnet", {"num_labels": 1000}),
    "vit-b16": ("vit", {"num_labels": 1000}),
}


def hf_workload(spec: str) -> Workload:
    """``hf:ARCH?key=value&...``: a Hugging Face model type (or a zoo name in HF_PRESETS) with
    config overrides; ``seq_len`` (text, default 128; encoder-decoder models get a target of the
    same length), ``image_size`` (vision) and ``batch`` (inputs at once, default 1) set the input;
    ``phase=decode`` with ``decode_tokens=N`` (causal LMs) plays N one-token steps after a
    ``seq_len`` prompt."""
    try:
        import torch
        import transformers
    except ImportError:
        raise PrismError("--model hf:... needs the torch extra: pip install 'prismsim[torch]' "
                         "(torch==2.13.0 CPU build and transformers)") from None
    arch, over = split_spec(spec.removeprefix("hf:"))
    seq = over.pop("seq_len", 128)
    if not isinstance(seq, int) or seq < 1:
        raise PrismError(f"--model hf:{arch}: seq_len must be a positive integer (got {seq!r})")
    phase, steps = pop_phase(over, f"--model hf:{arch}")
    batch = over.pop("batch", 1)
    if not isinstance(batch, int) or not 1 <= batch <= 4096:
        raise PrismError(f"--model hf:{arch}: batch must be a whole number in 1..4096 (got {batch!r})")
    model_type, base = HF_PRESETS.get(arch, (arch, {}))
    if model_type not in transformers.CONFIG_MAPPING:
        raise PrismError(f"--model: hf:{arch}: unknown Hugging Face model type {model_type!r}; presets: "
                         f"{', '.join(HF_PRESETS)}, or any model type of transformers")
    default_cfg = transformers.AutoConfig.for_model(model_type)
    known = set(default_cfg.to_dict()) | set(getattr(type(default_cfg), "attribute_map", {}))   # aliases too
    image = over.pop("image_size", None) if "image_size" not in known else over.get("image_size")
    if image is not None and (not isinstance(image, int) or image < 1):
        raise PrismError(f"--model hf:{arch}: image_size must be a positive integer (got {image!r})")
    unknown = [k for k in over if k not in known]
    if unknown:  # transformers would keep it as a stray attribute and build the default-size model
        raise PrismError(f"--model: hf:{arch}: {unknown[0]!r} is not a {model_type} config field")
    try:
        cfg = transformers.AutoConfig.for_model(model_type, **{**base, **over})
    except Exception as err:  # transformers and huggingface_hub raise several kinds on a bad override
        raise PrismError(f"--model: hf:{arch}: bad config override ({', '.join(over) or 'none'}): "
                         f"{_first_line(err.__cause__ or err)}") from None
    from transformers.models.auto import modeling_auto as ma

    if not over and not base:   # the library's default config: say which size that is
        dims = {k: getattr(cfg, k) for k in ("hidden_size", "num_hidden_layers", "num_attention_heads",
                                             "intermediate_size", "vocab_size", "image_size") if hasattr(cfg, k)}
        import sys
        print(f"prismsim: note: hf:{arch} with no overrides builds transformers' default {model_type} config: "
              + ", ".join(f"{k}={v}" for k, v in dims.items()), file=sys.stderr)

    vision = hasattr(cfg, "num_channels")
    causal = model_type in ma.MODEL_FOR_CAUSAL_LM_MAPPING_NAMES and model_type not in ma.MODEL_FOR_MASKED_LM_MAPPING_NAMES
    if vision:
        auto = transformers.AutoModelForImageClassification
    elif causal:
        auto = transformers.AutoModelForCausalLM   # decoders: with their LM head
    else:
        auto = transformers.AutoModel              # encoders: the base model (with its pooler)
    if phase == "decode" and (vision or not causal):
        raise PrismError(f"--phase decode: hf:{arch} is not a causal language model ({model_type})")
    with torch.device("meta"):
        try:
            model = auto.from_config(cfg)
        except Exception as err:  # transformers raises several kinds for a model it cannot build
            raise PrismError(f"--model: hf:{arch}: cannot build it with {auto.__name__}: "
                             f"{type(err).__name__}: {_first_line(err)[:200]}") from None
        model.eval()
        if vision:
            size = int(image or getattr(cfg, "image_size", 224))   # the input's side (CNN configs have none)
            inputs = {"pixel_values": torch.zeros(batch, cfg.num_channels, size, size)}
        else:
            inputs = {"input_ids": torch.zeros(batch, seq, dtype=torch.long)}
            if getattr(cfg, "is_encoder_decoder", False):  # T5, BART, ...: a target as long as the source
                inputs["decoder_input_ids"] = torch.zeros(batch, seq, dtype=torch.long)
    if phase == "decode":
        return _decode(model, inputs, steps, f"hf:{arch}[decode,prompt={seq},steps={steps}"
                       + (f",batch={batch}]" if batch > 1 else "]"))
    return trace(model, inputs, f"hf:{arch}")


def _decode(model, prompt: dict, steps: int, name: str) -> Workload:
    """``steps`` one-token decode calls after an (untraced) prefill of ``prompt``; each call reads
    the KV cache the previous calls grew, so step t attends over prompt + t + 1 tokens."""
    import torch

    if "input_ids" not in prompt:
        raise PrismError(f"--phase decode: {name} takes no input_ids (inputs: {', '.join(prompt)})")
    with torch.no_grad(), torch.device("meta"):
        try:
            cache = getattr(model(**prompt, use_cache=True), "past_key_values", None)
        except TypeError:
            cache = None
    if cache is None:
        raise PrismError(f"--phase decode: {name} returns no KV cache (needs a Hugging Face-style causal LM)")

    def step():
        with torch.device("meta"):
            ids = torch.zeros(prompt["input_ids"].shape[0], 1, dtype=torch.long)   # a token per request
        resident = [v for layer in getattr(cache, "layers", ()) for v in vars(layer).values()
                    if isinstance(v, torch.Tensor)]
        return {"input_ids": ids, "past_key_values": cache, "use_cache": True}, resident

    import warnings

    with warnings.catch_warnings():   # transformers < 5.40 (pinned) still takes past_key_values, warning each call
        warnings.filterwarnings("ignore", message=".*past_key_values.*deprecated", category=FutureWarning)
        return trace_steps(model, [(f"t{t}.", step) for t in range(steps)], name)


def torch_workload(spec: str) -> Workload:
    """``torch:package.module:factory``: a callable returning (model, example inputs dict);
    ``?phase=decode&decode_tokens=N`` decodes when the model is a Hugging Face-style causal LM
    (takes ``input_ids``, ``use_cache`` and ``past_key_values``)."""
    import importlib

    try:
        import torch
    except ImportError:
        raise PrismError("--model torch:... needs torch: pip install 'prismsim[torch]'") from None
    target, opts = split_spec(spec.partition(":")[2])
    phase, steps = pop_phase(opts, f"--model torch:{target}")
    if opts:
        raise PrismError(f"--model torch:{target}: only phase and decode_tokens may follow '?' (got {', '.join(opts)})")
    mod_name, _, fn_name = target.partition(":")
    here = os.getcwd()
    sys.path.insert(0, here)   # a module in the working directory, as `python -m` would find it
    try:
        fn = getattr(importlib.import_module(mod_name), fn_name)
    except (ImportError, AttributeError) as err:
        raise PrismError(f"--model torch:{target}: {err}") from None
    finally:
        sys.path.remove(here)
    with torch.device("meta"):
        try:
            made = fn()
        except Exception as err:  # the user's factory failed: say so in one line
            raise PrismError(f"--model torch:{target}: the factory raised {type(err).__name__}: {_first_line(err)}") from None
        if not (isinstance(made, tuple) and len(made) == 2 and isinstance(made[0], torch.nn.Module)
                and isinstance(made[1], dict)):
            raise PrismError(f"--model torch:{target}: the factory must return (model, example inputs dict) "
                             f"(got {type(made).__name__})")
        model, inputs = made
        model.eval()
    if phase == "decode":
        return _decode(model, inputs, steps, f"torch:{target}[decode,steps={steps}]")
    return trace(model, inputs, f"torch:{target}")


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
