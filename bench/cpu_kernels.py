"""Micro-benchmarks behind the speed-up suggestions: the kernels that dominate on this CPU.

- elementwise transcendental functions (the encoder's softmax and GELU): MLX vs numpy;
- the decoder's per-token vocabulary projection (a matrix-vector product over the whole
  51,864-token embedding, memory-bound): fp32 vs MLX's 8- and 4-bit quantized matmul,
  and several rows at once (batched decoding).

    .venv/bin/python bench/cpu_kernels.py
"""

from __future__ import annotations

import time

import numpy as np

from stenogram.core.mlx_runtime import ensure_mlx

REPEATS = 5
ATTENTION = (6, 1500, 1500)  # tiny.en: heads x frames x frames, one encoder layer
VOCAB, D_TINY, D_BASE = 51864, 384, 512
PROMPT_ROWS = 227  # 223 previous-text tokens + the start-of-transcript sequence


def best_ms(fn, repeats: int = REPEATS) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000 * min(times)


def main() -> None:
    ensure_mlx()
    import mlx.core as mx

    rng = np.random.default_rng(0)
    scores = rng.standard_normal(ATTENTION, dtype=np.float32)
    s_mx = mx.array(scores)
    mx.eval(s_mx)
    n = scores.size
    print(f"elementwise over {n / 1e6:.1f} M float32 (one tiny.en encoder layer's attention):")
    for name, fn in (
        ("mx.exp", lambda: mx.eval(mx.exp(s_mx))),
        ("np.exp", lambda: np.exp(scores)),
        ("mx.softmax", lambda: mx.eval(mx.softmax(s_mx, axis=-1))),
        ("numpy softmax", lambda: _np_softmax(scores)),
        ("mx.erf (GELU's)", lambda: mx.eval(mx.erf(s_mx))),
        ("mx.tanh", lambda: mx.eval(mx.tanh(s_mx))),
        ("np.tanh", lambda: np.tanh(scores)),
    ):
        ms = best_ms(fn)
        print(f"  {name:18s} {ms:8.1f} ms  {1e6 * ms / n:6.2f} ns/element")
    for d in (D_TINY, D_BASE):
        print(f"vocabulary projection, d={d} x {VOCAB} tokens (per decoder step):")
        w = mx.array(rng.standard_normal((VOCAB, d), dtype=np.float32) * 0.02)
        mx.eval(w)
        for rows in (1, 8):
            x = mx.array(rng.standard_normal((rows, d), dtype=np.float32))
            mx.eval(x)
            ms = best_ms(lambda x=x, w=w: mx.eval(x @ w.T), 10)
            print(f"  fp32, {rows} row(s)        {ms:7.2f} ms  ({ms / rows:.2f} ms per row)")
            for bits in (8, 4):
                wq, scales, biases = mx.quantize(w, group_size=64, bits=bits)
                mx.eval(wq, scales, biases)

                def q(x=x, wq=wq, scales=scales, biases=biases, bits=bits):
                    mx.eval(
                        mx.quantized_matmul(
                            x, wq, scales, biases, transpose=True, group_size=64, bits=bits
                        )
                    )

                ms = best_ms(q, 10)
                print(
                    f"  {bits}-bit, {rows} row(s)       {ms:7.2f} ms  ({ms / rows:.2f} ms per row)"
                )
        # the first step of a window projects every prompt position onto the vocabulary,
        # though only the last one (and the start-of-transcript one, for no_speech) is read
        x = mx.array(rng.standard_normal((PROMPT_ROWS, d), dtype=np.float32))
        ms = best_ms(lambda x=x, w=w: mx.eval(x @ w.T), 3)
        print(f"  fp32, {PROMPT_ROWS} rows (a window's first step with a full prompt) {ms:7.2f} ms")


def _np_softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    e /= e.sum(axis=-1, keepdims=True)
    return e


if __name__ == "__main__":
    main()
