"""MoE layer benchmark: the fused Triton MoE against a per-expert torch loop.

`bench_moe(device, sizes, dtype)` is what `microturn bench step --device cuda` reports: for each
token count T (decode 1, 8, 32, 128; prefill 512, 2048, 8192 by default) the time of the
fused MoE in invariant and in free mode (replayed from a CUDA graph, so Python launch overhead is
left out; the eager median is reported beside it; the fused path never syncs with the host), the achieved bandwidth on the expert weights the batch
touches, TFLOP/s, and the speed-up over the torch loop. `bench_moe_cpu()` runs the same
comparison at small shapes in the Triton interpreter: a check that the path runs, not a speed
figure (the interpreter executes every tile op in numpy).

Only torch and triton are needed (the lent GPU machines have nothing else).
"""

from __future__ import annotations

import statistics
import time

import torch

DECODE = (1, 8, 32, 128)
PREFILL = (512, 2048, 8192)


def torch_loop_moe(hidden, router_weight, w_gate_up, w_down, top_k):
    """The naive baseline: route in float32, then one gathered matmul pair per expert, in the
    input dtype (cuBLAS on a GPU), accumulated with index_add_. Timed eagerly: its nonzero()
    calls sync with the host, which is part of what a per-expert loop costs."""
    I = w_gate_up.shape[1] // 2
    acc = torch.float64 if hidden.dtype == torch.float64 else torch.float32
    probs = torch.softmax(hidden.to(acc) @ router_weight.to(acc).T, dim=-1)
    weights, ids = torch.topk(probs, top_k, dim=-1)
    weights = weights / weights.sum(-1, keepdim=True)
    out = torch.zeros(hidden.shape, dtype=acc, device=hidden.device)
    for e in range(router_weight.shape[0]):
        tok, slot = torch.nonzero(ids == e, as_tuple=True)
        if tok.numel() == 0:
            continue
        gu = hidden[tok] @ w_gate_up[e].T
        act = torch.nn.functional.silu(gu[:, :I]) * gu[:, I:]
        out.index_add_(0, tok, (act @ w_down[e].T).to(acc) * weights[tok, slot, None])
    return out.to(hidden.dtype)


def _sig(x: float, digits: int = 4) -> float:
    return float(f"{x:.{digits}g}")


def _time_graph_ms(fn, iters: int) -> float | None:
    """GPU time of one call, replayed from a CUDA graph (no Python launch overhead);
    None when the call cannot be captured."""
    try:
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(2):
                fn()
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            fn()
    except RuntimeError:
        return None
    graph.replay()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(iters):
        graph.replay()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / iters


def _time_ms(fn, device: str, warmup: int, iters: int) -> float:
    """Median wall time of one call, in milliseconds (CUDA events on a GPU)."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(iters):
        if device == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize()
            samples.append(start.elapsed_time(end))
        else:
            t0 = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(samples)


def bench_moe(device: str = "cuda", sizes=DECODE + PREFILL, dtype=torch.bfloat16, *, experts: int = 64,
              hidden: int = 2048, inter: int = 1024, top_k: int = 8, warmup: int = 3, iters: int = 20,
              loop_baseline: bool = True, seed: int = 0) -> dict:
    """Time the MoE layer at each token count in `sizes`. Returns a JSON-ready dict."""
    import microturn.kernels as K

    gen = torch.Generator(device=device).manual_seed(seed)

    def randn(*shape, scale=1.0):
        return (torch.randn(*shape, generator=gen, device=device, dtype=torch.float32) * scale).to(dtype)

    router = randn(experts, hidden)
    w_gate_up = randn(experts, 2 * inter, hidden, scale=hidden ** -0.5)
    w_down = randn(experts, hidden, inter, scale=inter ** -0.5)
    elem = torch.finfo(dtype).bits // 8
    bytes_per_expert = 3 * inter * hidden * elem
    rows = []
    for T in sizes:
        x = randn(T, hidden)
        with K.using("triton"):
            def fused():
                return K.fused_moe(x, router, w_gate_up, w_down, top_k)

            with K.counting() as launched:
                fused()
            if launched["moe_gate_up"] != 1:
                raise RuntimeError("bench_moe: the Triton path did not run")
            ids, _ = K.reference.route(x, router, top_k)
            touched = int(torch.unique(ids).numel())
            eager_inv = _time_ms(fused, device, warmup, iters)
            with K.invariant_mode(False):
                eager_free = _time_ms(fused, device, warmup, iters)
            graph_inv = graph_free = None
            if device == "cuda":
                graph_inv = _time_graph_ms(fused, iters)
                with K.invariant_mode(False):
                    graph_free = _time_graph_ms(fused, iters)
            graphed = graph_inv is not None and graph_free is not None
            t_inv, t_free = (graph_inv, graph_free) if graphed else (eager_inv, eager_free)
        t_loop = _time_ms(lambda: torch_loop_moe(x, router, w_gate_up, w_down, top_k), device,
                          warmup, iters) if loop_baseline else None
        weight_bytes = touched * bytes_per_expert
        act_bytes = T * hidden * elem * 2 + T * top_k * (inter * elem * 2 + hidden * 4 * 2)
        flops = 2 * T * top_k * 3 * inter * hidden
        rows.append({
            "tokens": T, "phase": "decode" if T <= 128 else "prefill", "experts_touched": touched,
            "timing": "cuda_graph" if graphed else "eager",
            "ms_invariant": _sig(t_inv), "ms_free": _sig(t_free),
            "ms_invariant_eager": _sig(eager_inv),
            "invariant_over_free": _sig(t_inv / t_free, 3),
            "weight_GBps": _sig(weight_bytes / (t_inv * 1e-3) / 1e9),
            "total_GBps": _sig((weight_bytes + act_bytes) / (t_inv * 1e-3) / 1e9),
            "TFLOPs": _sig(flops / (t_inv * 1e-3) / 1e12),
            "ms_torch_loop": None if t_loop is None else _sig(t_loop),
            "speedup_vs_torch_loop": None if t_loop is None else _sig(t_loop / t_inv, 3),
        })
    return {"device": device, "dtype": str(dtype).replace("torch.", ""),
            "shape": {"experts": experts, "hidden": hidden, "inter": inter, "top_k": top_k},
            "gpu": torch.cuda.get_device_name(0) if device == "cuda" else None,
            "iters": iters, "results": rows}


def bench_moe_cpu(sizes=(1, 8, 32), dtype=torch.float32) -> dict:
    """The same comparison at CPU-sized shapes, Triton in its interpreter (not a speed figure)."""
    report = bench_moe("cpu", sizes, dtype, experts=8, hidden=64, inter=128, top_k=2, warmup=1, iters=3)
    report["note"] = ("Triton interpreter on the CPU: checks that the fused path runs; its times are "
                      "numpy emulation and say nothing about GPU speed")
    return report


if __name__ == "__main__":
    import json
    import sys

    if torch.cuda.is_available():
        print(json.dumps(bench_moe(), indent=2))
    else:
        print(json.dumps(bench_moe_cpu(), indent=2))
    sys.exit(0)
