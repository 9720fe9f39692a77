"""`microturn bench step`: micro-turn step time of the interaction model, and its MoE layer.

CPU (default): the `tiny` config's batched streaming step for 1, 4, 16 and 32 sessions, the
batch-invariant mode on and off, p50/p99 over `--steps` timed steps. Caches are filled to the
full window first (the steady state of any session older than the window), and the inputs are
random but valid, so the figure is the model's cost, not the features'. Then the MoE layer at
the tiny model's decode shape: the torch per-expert loop, the dense per-session form the
invariant mode uses, and the fused Triton kernel (in the interpreter on a CPU: a check that it
runs, not a speed figure).

`--device cuda`: the MoE layer on the GPU through `microturn.kernels.bench.bench_moe` (decode and
prefill sizes, bandwidth, TFLOP/s, ratio to the torch loop, invariant over free), then the step
of `--config` (default gpu-1b) with the triton backend.
"""

from __future__ import annotations

import os
import time

from microturn.runtime.bench.common import percentiles


def add_arguments(p) -> None:
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="where to run [cpu]")
    p.add_argument("--config", default=None, help="model config [tiny on cpu, gpu-1b on cuda]")
    p.add_argument("--sessions", default="1,4,16,32", help="comma-separated session counts [1,4,16,32]")
    p.add_argument("--steps", type=int, default=60, help="timed steps per point [60]")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps per point [5]")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads [torch's default]")
    p.add_argument("--skip-moe", action="store_true", help="skip the MoE layer comparison")


def _fill_window(sessions, generator: torch.Generator) -> None:
    """Put every open session in the steady state: a full window of (random) cached keys."""
    import torch  # lazily: `microturn --help` must not pay for torch
    n = len(sessions)
    full = sessions.capacity - sessions.block
    g = generator if sessions.k.device.type == "cpu" else None  # a CPU generator cannot fill CUDA memory
    sessions.k[:, :n].normal_(generator=g)
    sessions.v[:, :n].normal_(generator=g)
    sessions.length[:n] = full
    sessions.position[:n] = full + 1000 * sessions.block


def time_step(model, n_sessions: int, steps: int, warmup: int, seed: int = 0, cpu_times: list | None = None) -> list[float]:
    """Wall milliseconds per batched step for `n_sessions` sessions at a full window; the
    process CPU milliseconds of each step go to `cpu_times` when given."""
    import torch  # lazily: `microturn --help` must not pay for torch
    from microturn.runtime.model.features import random_turns
    from microturn.runtime.model.streaming import StreamingSessions

    g = torch.Generator().manual_seed(seed)
    sessions = StreamingSessions(model, initial_slots=n_sessions)
    ids = [f"s{i}" for i in range(n_sessions)]
    for s in ids:
        sessions.open(s)
    device = model.final_norm.device
    inputs = [random_turns(model.config, n_sessions, 1, g) for _ in range(4)]
    inputs = [type(tt)(*(t.to(device) for t in tt.as_tuple())) for tt in inputs]
    times = []
    for i in range(warmup + steps):
        _fill_window(sessions, g)  # keeps every step at the full window (also after eviction)
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0, c0 = time.perf_counter(), time.process_time()
        sessions.step(ids, inputs[i % len(inputs)])
        if device.type == "cuda":
            torch.cuda.synchronize()
        if i >= warmup:
            times.append((time.perf_counter() - t0) * 1e3)
            if cpu_times is not None:
                cpu_times.append((time.process_time() - c0) * 1e3)
    return times


def _rounded(stats: dict) -> dict:
    return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in stats.items()}


def bench_cpu_steps(config_name: str, counts: list[int], steps: int, warmup: int) -> dict:
    import torch  # lazily: `microturn --help` must not pay for torch
    from microturn.runtime.model.backends import TorchOps
    from microturn.runtime.model.config import get_config
    from microturn.runtime.model.transformer import InteractionModel

    torch.manual_seed(0)
    model = InteractionModel(get_config(config_name)).eval()
    rows = []
    for n in counts:
        point = {"sessions": n}
        for mode, invariant in (("free", False), ("invariant", True)):
            model.set_ops(TorchOps(invariant=invariant))
            cpu: list[float] = []
            stats = _rounded(percentiles(time_step(model, n, steps, warmup, cpu_times=cpu), qs=(50, 99)))
            stats["cpu_ms_p50"] = round(float(sorted(cpu)[len(cpu) // 2]), 3)
            point[mode] = stats
        point["invariant_over_free_p50"] = round(point["invariant"]["p50"] / point["free"]["p50"], 3)
        rows.append(point)
    return {"config": config_name, "backend": "torch", "cache": "full window",
            "threads": torch.get_num_threads(), "steps": steps, "load_average": list(os.getloadavg()),
            "note": "p50/p99 are wall-clock ms per batched step; cpu_ms_p50 is process CPU time, which "
                    "with --threads 1 estimates the step on an otherwise idle core",
            "results": rows}


def _time_ms(fn, iters: int) -> list[float]:
    fn()
    out = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1e3)
    return out


def bench_cpu_moe(config_name: str, sessions: int = 16, iters: int = 40) -> dict:
    """The tiny model's MoE layer at one decode step of `sessions` sessions."""
    import torch  # lazily: `microturn --help` must not pay for torch
    import microturn.kernels as K
    from microturn.runtime.model.backends import moe_dense, moe_expert_loop
    from microturn.runtime.model.config import get_config

    c = get_config(config_name)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(sessions, c.tokens_per_turn, c.d_model, generator=g)
    router = torch.randn(c.n_experts, c.d_model, generator=g) * 0.1
    w_gu = torch.randn(c.n_experts, 2 * c.d_expert, c.d_model, generator=g) * c.d_model ** -0.5
    w_d = torch.randn(c.n_experts, c.d_model, c.d_expert, generator=g) * c.d_expert ** -0.5
    loop = percentiles(_time_ms(lambda: moe_expert_loop(x, router, w_gu, w_d, c.top_k), iters), qs=(50, 99))
    dense = percentiles(_time_ms(lambda: moe_dense(x, router, w_gu, w_d, c.top_k,
                                                    linear=lambda a, w: torch.bmm(a, w.t().unsqueeze(0).expand(a.shape[0], -1, -1))),
                                 iters), qs=(50, 99))
    flat = x.reshape(-1, c.d_model)
    with K.using("triton"):
        with K.counting() as launched:
            fused_out = K.fused_moe(flat, router, w_gu, w_d, c.top_k)
        fused = percentiles(_time_ms(lambda: K.fused_moe(flat, router, w_gu, w_d, c.top_k), 3), qs=(50, 99))
    agree = float((fused_out.reshape(x.shape) - moe_expert_loop(x, router, w_gu, w_d, c.top_k)).abs().max())
    return {
        "shape": {"tokens": sessions * c.tokens_per_turn, "hidden": c.d_model, "inter": c.d_expert,
                  "experts": c.n_experts, "top_k": c.top_k},
        "torch_expert_loop_ms": _rounded(loop),
        "dense_per_session_ms (invariant mode)": _rounded(dense),
        "triton_fused_interpreter_ms": _rounded(fused),
        "triton_launches": dict(launched),
        "triton_vs_loop_max_abs_diff": agree,
        "note": "Triton runs in its interpreter on a CPU (numpy per tile op): not a speed figure",
    }


def run(args) -> dict:
    import torch  # lazily: `microturn --help` must not pay for torch
    if args.threads:
        torch.set_num_threads(args.threads)
    counts = [int(s) for s in args.sessions.split(",") if s.strip()]
    if args.device == "cuda":
        return run_cuda(args, counts)
    config = args.config or "tiny"
    report = {"device": "cpu", "step": bench_cpu_steps(config, counts, args.steps, args.warmup)}
    if not args.skip_moe:
        report["moe"] = bench_cpu_moe(config)
    return report


def run_cuda(args, counts: list[int]) -> dict:
    import torch  # lazily: `microturn --help` must not pay for torch
    if not torch.cuda.is_available():
        raise SystemExit("microturn bench step --device cuda: no CUDA device here")
    from microturn.kernels.bench import bench_moe
    from microturn.runtime.model.backends import TritonOps
    from microturn.runtime.model.config import get_config
    from microturn.runtime.model.transformer import InteractionModel

    report = {"device": "cuda", "gpu": torch.cuda.get_device_name(0)}
    if not args.skip_moe:
        report["moe"] = bench_moe(device="cuda")
    torch.manual_seed(0)
    config = get_config(args.config or "gpu-1b")
    model = InteractionModel(config, ops=TritonOps()).to("cuda", torch.bfloat16).eval()
    rows = []
    for n in counts:
        rows.append({"sessions": n, "triton": _rounded(percentiles(time_step(model, n, args.steps, args.warmup), qs=(50, 99)))})
    report["step"] = {"config": config.name, "backend": "triton", "dtype": "bfloat16", "cache": "full window",
                      "results": rows}
    return report
