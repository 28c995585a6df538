"""Built-in models from exact shape specs (no torch needed).

Conventions: a linear layer Y = W X with W[out x in] is a static ``gemm`` with n = out, d = in,
m = tokens; attention scores per head are a dynamic ``matmul`` with n = keys, d = head_dim,
m = queries (so pipeline chunks follow the queries); the attention-weighted sum has n = head_dim,
d = keys, m = queries. MAC totals match the published counts (tests/test_zoo.py).
"""
from __future__ import annotations

from typing import Callable

from prismsim.hw.errors import PrismError

from .blocks import attention, encoder_block
from .workload import Builder, Workload


def pythia_70m(seq_len: int = 128, phase: str = "prefill", decode_tokens: int = 1, vocab: int = 50304,
               batch: int = 1) -> Workload:
    """EleutherAI Pythia-70M (GPT-NeoX): 6 layers, d 512, 8 heads, FFN 2048, vocab 50304, parallel
    attention + MLP residual. Prefill of ``seq_len`` tokens, lm_head included; or ``decode``:
    ``decode_tokens`` autoregressive steps after a ``seq_len``-token prompt, for ``batch`` requests
    at once (their GEMMs share each weight read; each attends over its own KV cache). ``vocab``
    resizes the head (the published model has 50304)."""
    if phase == "decode":
        return _pythia_decode(seq_len, decode_tokens, vocab, batch)
    if batch != 1:
        raise PrismError("--model pythia-70m: batch is for phase=decode (a prefill batch is seq_len tokens)")
    d, heads, ffn = 512, 8, 2048
    b = Builder(f"pythia-70m[seq={seq_len}]" if vocab == 50304 else f"pythia-70m[seq={seq_len},vocab={vocab}]")
    x = b.add("embed", "embedding", d, 1, seq_len, input_elements=seq_len * d)
    for i in range(6):
        p = f"l{i}"
        a = attention(b, f"{p}.attn", b.norm(f"{p}.ln1", d, seq_len, [x]), d, heads, seq_len)
        h = b.gemm(f"{p}.fc1", ffn, d, seq_len, [b.norm(f"{p}.ln2", d, seq_len, [x])])
        h = b.gemm(f"{p}.fc2", d, ffn, seq_len, [b.eltwise(f"{p}.gelu", ffn, seq_len, [h])])
        x = b.eltwise(f"{p}.add", d, seq_len, [x, a, h])
    x = b.norm("ln_f", d, seq_len, [x])
    b.gemm("lm_head", vocab, d, seq_len, [x])
    return b.build()


def _pythia_decode(prompt: int, steps: int, vocab: int = 50304, batch: int = 1) -> Workload:
    """Autoregressive decode: step t handles one token per request against a KV cache of prompt +
    t + 1 tokens, read from memory (``kv_cache`` layers); each step waits for the previous step's
    lm_head. The steps' GEMMs share their weights (``Layer.weights``); ``batch`` requests share
    each step's weight reads (GEMMs over ``batch`` tokens), each attending over its own cache."""
    d, heads, ffn = 512, 8, 2048
    hd = d // heads
    r = batch
    b = Builder(f"pythia-70m[decode,prompt={prompt},steps={steps}" + (f",batch={r}]" if r > 1 else "]"))
    prev = None
    for t in range(steps):
        kv = prompt + t + 1
        s = f"t{t}."
        x = b.add(s + "embed", "embedding", d, 1, r, inputs=[(prev, 1 / vocab)] if prev else (), input_elements=d * r)
        for i in range(6):
            p = f"{s}l{i}"
            w = f"l{i}"   # every step uses the same weights
            qkv = b.gemm(f"{p}.attn.qkv", 3 * d, d, r, [b.norm(f"{p}.ln1", d, r, [x])], weights=f"{w}.attn.qkv")
            cache = b.add(f"{p}.attn.kv_cache", "embedding", 2 * d, 1, r * (kv - 1), input_elements=2 * d * r * (kv - 1),
                          kv_cache="dram")
            qk = b.add(f"{p}.attn.qk", "matmul", kv, hd, 1, batch=heads * r,
                       inputs=[(qkv, 2 / 3, False), (cache, 0.5, False)])
            sm = b.add(f"{p}.attn.softmax", "softmax", kv, 1, 1, batch=heads * r, inputs=[qk])
            av = b.add(f"{p}.attn.av", "matmul", hd, kv, 1, batch=heads * r,
                       inputs=[sm, (qkv, 1 / 3, False), (cache, 0.5, False)])
            a = b.gemm(f"{p}.attn.proj", d, d, r, [av], weights=f"{w}.attn.proj")
            h = b.gemm(f"{p}.fc1", ffn, d, r, [b.norm(f"{p}.ln2", d, r, [x])], weights=f"{w}.fc1")
            h = b.gemm(f"{p}.fc2", d, ffn, r, [b.eltwise(f"{p}.gelu", ffn, r, [h])], weights=f"{w}.fc2")
            x = b.eltwise(f"{p}.add", d, r, [x, a, h])
        prev = b.gemm(s + "lm_head", vocab, d, r, [b.norm(s + "ln_f", d, r, [x])], weights="lm_head")
    return b.build()


def bert_base(seq_len: int = 128) -> Workload:
    """BERT-base: 12 post-norm layers, d 768, 12 heads, FFN 3072, pooler on [CLS]."""
    d, heads, ffn = 768, 12, 3072
    b = Builder(f"bert-base[seq={seq_len}]")
    x = b.add("embed", "embedding", d, 1, seq_len, input_elements=seq_len * d * 3)
    x = b.norm("embed.ln", d, seq_len, [x])
    for i in range(12):
        x = encoder_block(b, f"l{i}", x, d, heads, ffn, seq_len, post_norm=True)
    b.gemm("pooler", d, d, 1, [(x, 1 / seq_len)])
    return b.build()


def vit_b16(image: int = 224) -> Workload:
    """ViT-B/16: 16x16 patch conv, [CLS] + 196 tokens, 12 pre-norm layers, 1000-way head."""
    d, heads, ffn = 768, 12, 3072
    b = Builder(f"vit-b16[{image}]")
    x, (h, w) = b.conv("patch", 3, d, 16, 16, (image, image), pad=0)
    seq = h * w + 1
    for i in range(12):
        x = encoder_block(b, f"l{i}", x, d, heads, ffn, seq)
    x = b.norm("ln_f", d, seq, [x])
    b.gemm("head", 1000, d, 1, [(x, 1 / seq)])
    return b.build()


def _basic_block(b: Builder, p: str, x: str, cin: int, cout: int, stride: int, hw):
    y, hw2 = b.conv(f"{p}.conv1", cin, cout, 3, stride, hw, [x])
    y, hw2 = b.conv(f"{p}.conv2", cout, cout, 3, 1, hw2, [b.eltwise(f"{p}.relu1", cout, hw2[0] * hw2[1], [y])])
    sc = x
    if stride != 1 or cin != cout:
        sc, _ = b.conv(f"{p}.down", cin, cout, 1, stride, hw, [x])
    return b.eltwise(f"{p}.add", cout, hw2[0] * hw2[1], [y, sc]), hw2


def _bottleneck(b: Builder, p: str, x: str, cin: int, width: int, stride: int, hw):
    cout = width * 4
    y, _ = b.conv(f"{p}.conv1", cin, width, 1, 1, hw, [x])
    y, hw2 = b.conv(f"{p}.conv2", width, width, 3, stride, hw, [b.eltwise(f"{p}.relu1", width, hw[0] * hw[1], [y])])
    y, _ = b.conv(f"{p}.conv3", width, cout, 1, 1, hw2, [b.eltwise(f"{p}.relu2", width, hw2[0] * hw2[1], [y])])
    sc = x
    if stride != 1 or cin != cout:
        sc, _ = b.conv(f"{p}.down", cin, cout, 1, stride, hw, [x])
    return b.eltwise(f"{p}.add", cout, hw2[0] * hw2[1], [y, sc]), hw2


def _resnet(name: str, bottleneck: bool, blocks: list[int], image: int) -> Workload:
    b = Builder(name)
    x, hw = b.conv("conv1", 3, 64, 7, 2, (image, image), pad=3)
    x = b.eltwise("relu", 64, hw[0] * hw[1], [x])
    hw = ((hw[0] + 2 - 3) // 2 + 1, (hw[1] + 2 - 3) // 2 + 1)
    x = b.add("maxpool", "pool", 64, 9, hw[0] * hw[1], inputs=[x])
    cin = 64
    for stage, nb in enumerate(blocks):
        width = 64 * 2 ** stage
        for i in range(nb):
            stride = 2 if (i == 0 and stage > 0) else 1
            p = f"layer{stage + 1}.{i}"
            if bottleneck:
                x, hw = _bottleneck(b, p, x, cin, width, stride, hw)
                cin = width * 4
            else:
                x, hw = _basic_block(b, p, x, cin, width, stride, hw)
                cin = width
    x = b.add("avgpool", "pool", cin, hw[0] * hw[1], 1, inputs=[x])
    b.gemm("fc", 1000, cin, 1, [x])
    return b.build()


def resnet18(image: int = 224) -> Workload:
    """torchvision ResNet-18 at 224x224."""
    return _resnet("resnet18", False, [2, 2, 2, 2], image)


def resnet50(image: int = 224) -> Workload:
    """torchvision ResNet-50 (v1.5: stride on the 3x3) at 224x224."""
    return _resnet("resnet50", True, [3, 4, 6, 3], image)


def _mv2(b: Builder, p: str, x: str, cin: int, cout: int, stride: int, hw, expand: int = 4):
    """MobileNetV2 inverted residual: 1x1 expand, 3x3 depthwise, 1x1 project."""
    hid = cin * expand
    y, _ = b.conv(f"{p}.expand", cin, hid, 1, 1, hw, [x])
    y = b.eltwise(f"{p}.act1", hid, hw[0] * hw[1], [y])
    y, hw2 = b.conv(f"{p}.dw", hid, hid, 3, stride, hw, [y], groups=hid)
    y = b.eltwise(f"{p}.act2", hid, hw2[0] * hw2[1], [y])
    y, _ = b.conv(f"{p}.project", hid, cout, 1, 1, hw2, [y])
    if stride == 1 and cin == cout:
        y = b.eltwise(f"{p}.add", cout, hw2[0] * hw2[1], [x, y])
    return y, hw2


def _mobilevit_block(b: Builder, p: str, x: str, c: int, dim: int, ffn: int, depth: int, hw, heads: int = 4):
    """MobileViT block: 3x3 + 1x1 local conv, unfold 2x2 patches, ``depth`` transformer layers
    over the patches for each of the 4 pixel positions, fold, 1x1 back, concat, 3x3 fusion."""
    y, _ = b.conv(f"{p}.local3x3", c, c, 3, 1, hw, [x])
    y, _ = b.conv(f"{p}.local1x1", c, dim, 1, 1, hw, [y])
    patches, pix = (hw[0] // 2) * (hw[1] // 2), 4
    for i in range(depth):
        y = encoder_block(b, f"{p}.t{i}", y, dim, heads, ffn, patches, groups=pix)
    y = b.norm(f"{p}.ln", dim, patches * pix, [y])
    y, _ = b.conv(f"{p}.proj", dim, c, 1, 1, hw, [y])
    y, _ = b.conv(f"{p}.fusion", 2 * c, c, 3, 1, hw, [x, y])
    return y


def mobilevit_s(image: int = 256) -> Workload:
    """Apple MobileViT-S (ml-cvnets config) at 256x256."""
    b = Builder(f"mobilevit-s[{image}]")
    x, hw = b.conv("stem", 3, 16, 3, 2, (image, image))
    x = b.eltwise("stem.act", 16, hw[0] * hw[1], [x])
    x, hw = _mv2(b, "layer1.0", x, 16, 32, 1, hw)
    x, hw = _mv2(b, "layer2.0", x, 32, 64, 2, hw)
    x, hw = _mv2(b, "layer2.1", x, 64, 64, 1, hw)
    x, hw = _mv2(b, "layer2.2", x, 64, 64, 1, hw)
    for stage, (cin, c, dim, ffn, depth) in enumerate(
            [(64, 96, 144, 288, 2), (96, 128, 192, 384, 4), (128, 160, 240, 480, 3)], start=3):
        x, hw = _mv2(b, f"layer{stage}.0", x, cin, c, 2, hw)
        x = _mobilevit_block(b, f"layer{stage}.1", x, c, dim, ffn, depth, hw)
    x, hw = b.conv("exp1x1", 160, 640, 1, 1, hw, [x])
    x = b.add("pool", "pool", 640, hw[0] * hw[1], 1, inputs=[x])
    b.gemm("classifier", 1000, 640, 1, [x])
    return b.build()


def mlp(batch: int = 16) -> Workload:
    """A small MLP (784-256-256-10) on ``batch`` inputs: the smallest end-to-end case."""
    b = Builder(f"mlp[batch={batch}]")
    b.mlp((784, 256, 256, 10), batch)
    return b.build()


def _trained():
    from .models.nets import WORKLOADS
    return WORKLOADS


ZOO: dict[str, Callable[..., Workload]] = {
    "pythia-70m": pythia_70m, "bert-base": bert_base, "vit-b16": vit_b16, "mobilevit-s": mobilevit_s,
    "resnet18": resnet18, "resnet50": resnet50, "mlp": mlp, **_trained(),
}
