"""Ahead-of-time compilation of every kernel for a CUDA target, without a GPU.

Two uses: proving on a CPU-only machine that the kernels compile in Triton's compiled mode (the
tests run them in the interpreter, which accepts things the compiler refuses), and producing the
PTX/cubin that a TensorRT plugin wraps (the TensorRT path in `runtime/model`).

Must run in a process whose kernels were not loaded for the interpreter: call it before anything
imports triton or the kernel modules (as `python -m microturn.kernels.aot` does), and it defines
them in compiled mode.

    python -m microturn.kernels.aot --arch 90 --dtype bfloat16 [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import sys

_ACC = "acc"  # pointer to the accumulation dtype
_IN = "in"  # pointer to the input dtype


def _specs(top_k: int, group: int, head_dim: int, experts: int) -> dict:
    """Per kernel: (module, function name, pointer roles, extra constexprs, float args)."""
    return {
        "bi_matmul": ("matmul", "_matmul_kernel", {"x_ptr": _IN, "w_ptr": _IN, "out_ptr": _IN}, {}, ()),
        "rms_norm": ("rmsnorm", "_rms_norm_kernel", {"x_ptr": _IN, "w_ptr": _IN, "out_ptr": _IN}, {}, ("eps",)),
        "route": ("routing", "_route_kernel", {"x_ptr": _IN, "w_ptr": _IN, "ids_ptr": "*i32", "weights_ptr": _ACC},
                  {"TOP_K": top_k, "BLOCK_E": max(16, 1 << (experts - 1).bit_length())}, ()),
        "moe_gate_up": ("moe", "_gate_up_kernel", {"x_ptr": _IN, "w_ptr": _IN, "act_ptr": _IN, "sorted_ptr": "*i32",
                                                   "block_expert_ptr": "*i32"}, {"TOP_K": top_k}, ()),
        "moe_down": ("moe", "_down_kernel", {"act_ptr": _IN, "w_ptr": _IN, "weights_ptr": _ACC, "slots_ptr": _ACC,
                                             "sorted_ptr": "*i32", "block_expert_ptr": "*i32"}, {}, ()),
        "moe_combine": ("moe", "_combine_kernel", {"slots_ptr": _ACC, "out_ptr": _IN}, {"TOP_K": top_k}, ()),
        "attention": ("kv_attention", "_attention_kernel", {"q_ptr": _IN, "k_ptr": _IN, "v_ptr": _IN, "len_ptr": "*i32",
                                                            "scale_ptr": _ACC, "out_ptr": _IN},
                      {"GROUP": group, "BLOCK_D": max(16, 1 << (head_dim - 1).bit_length())}, ()),
    }


_TL_NAMES = {"float16": "fp16", "bfloat16": "bf16", "float32": "fp32", "float64": "fp64"}


def compile_all(arch: int = 90, dtype_name: str = "bfloat16", *, top_k: int = 2, group: int = 4,
                head_dim: int = 64, experts: int = 8, free_rows: int | None = None) -> dict:
    """-> {kernel name: triton CompiledKernel} for `cuda:sm_{arch}`, with the invariant-mode tiles
    (or, with `free_rows`, the free-mode tiles for that many rows)."""
    if "microturn.kernels._common" not in sys.modules and "triton" not in sys.modules:
        os.environ["TRITON_INTERPRET"] = "0"  # nothing defined yet: define compiled-mode kernels
    import importlib

    import triton
    import triton.language as tl
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    from . import configs

    in_t = "*" + _TL_NAMES[dtype_name]
    acc_t = "*fp64" if dtype_name == "float64" else "*fp32"
    acc_tl = tl.float64 if dtype_name == "float64" else tl.float32
    target = GPUTarget("cuda", arch, 32)
    compiled = {}
    for name, (module, fn_name, pointers, extra, floats) in _specs(top_k, group, head_dim, experts).items():
        fn = getattr(importlib.import_module(f"microturn.kernels.{module}"), fn_name)
        if not isinstance(fn, triton.runtime.jit.JITFunction):
            raise RuntimeError("aot: the kernels were loaded for the interpreter (TRITON_INTERPRET=1); "
                               "compile in a fresh process without it")
        with configs.invariant_mode(free_rows is None):
            tiles = configs.select(name, rows=free_rows or 1, dtype_name=dtype_name, cuda=True)
        constexprs = {"ACC": acc_tl, "IEEE": dtype_name == "float32", **extra}
        for field in ("BLOCK_M", "BLOCK_N", "BLOCK_K"):
            if field in fn.arg_names:
                constexprs[field] = getattr(tiles, field)
        constexprs = {k: v for k, v in constexprs.items() if k in fn.arg_names}
        signature = {}
        for arg in fn.arg_names:
            if arg in constexprs:
                signature[arg] = "constexpr"
            elif arg in pointers:
                role = pointers[arg]
                signature[arg] = in_t if role == _IN else acc_t if role == _ACC else role
            else:
                signature[arg] = "fp32" if arg in floats else "i32"
        src = ASTSource(fn=fn, signature=signature, constexprs=constexprs)
        compiled[name] = triton.compile(src, target=target,
                                        options={"num_warps": tiles.num_warps, "num_stages": tiles.num_stages})
    return compiled


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", type=int, default=90, help="CUDA compute capability, e.g. 80, 90")
    parser.add_argument("--dtype", default="bfloat16", choices=sorted(_TL_NAMES))
    parser.add_argument("--out", help="write <kernel>.ptx and <kernel>.cubin here")
    parser.add_argument("--free-rows", type=int, help="compile the free-mode tiles for this many rows")
    args = parser.parse_args(argv)
    kernels = compile_all(args.arch, args.dtype, free_rows=args.free_rows)
    report = {}
    for name, kernel in kernels.items():
        report[name] = {"shared_bytes": kernel.metadata.shared, "ptx_chars": len(kernel.asm["ptx"]),
                        "cubin_bytes": len(kernel.asm["cubin"])}
        if args.out:
            os.makedirs(args.out, exist_ok=True)
            with open(os.path.join(args.out, f"{name}.ptx"), "w") as f:
                f.write(kernel.asm["ptx"])
            with open(os.path.join(args.out, f"{name}.cubin"), "wb") as f:
                f.write(kernel.asm["cubin"])
    json.dump({"arch": args.arch, "dtype": args.dtype, "kernels": report}, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
