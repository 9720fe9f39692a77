"""What every Triton wrapper does before a launch: pick the interpreter when there is no CUDA,
check devices and dtypes, and decide the storage and accumulation dtypes.

Dtype rules (the same for every kernel):
- float64 inputs accumulate in float64; everything else accumulates in float32.
- On CUDA, float16/bfloat16 operands go to `tl.dot` as they are (tensor cores) and outputs are
  rounded to the input dtype inside the kernel.
- In the interpreter, `tl.dot` on bfloat16 returns garbage and float32->bfloat16 `.to()` truncates.
  So there the wrapper widens float16/bfloat16 operands to float32 *on the host* before the
  launch (exact: every 16-bit value is a float32 value), the kernel runs in float32 and writes
  float32, and the wrapper rounds to the input dtype with torch (round to nearest even) at the
  exact points where the CUDA kernel stores in the input dtype.
"""

from __future__ import annotations

import os

import torch

if not torch.cuda.is_available():
    # Must happen before the first @triton.jit runs; harmless when the caller already chose.
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402
import triton.runtime.interpreter as _interpreter  # noqa: E402

from . import backend, configs  # noqa: E402


def _triton_helpers_compiled_mode() -> bool:
    """True when triton's own @jit helpers were defined for the compiler, not the interpreter."""
    from triton.runtime.jit import JITFunction

    return any(isinstance(v, JITFunction) and not isinstance(v, _interpreter.InterpretedFunction)
               for v in vars(tl.standard).values())


if configs.interpreting() and _triton_helpers_compiled_mode():
    raise RuntimeError(
        "microturn.kernels: triton was imported before TRITON_INTERPRET=1 was set, so its own "
        "helpers are compiled-mode functions and the interpreter cannot run them. Set "
        "TRITON_INTERPRET=1 in the environment, or import microturn.kernels before torch.export, "
        "torch.compile or triton.")

SUPPORTED = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
_NAMES = {torch.float16: "float16", torch.bfloat16: "bfloat16", torch.float32: "float32",
          torch.float64: "float64"}


def dtype_name(dtype: torch.dtype) -> str:
    return _NAMES[dtype]


def check(op: str, *tensors: torch.Tensor, same_dtype: bool = True) -> torch.dtype:
    """Refuse what the kernels cannot run, with a message that says why. Returns the dtype."""
    dtype = tensors[0].dtype
    if dtype not in SUPPORTED:
        raise TypeError(f"{op}: dtype {dtype} is not supported (use one of {SUPPORTED})")
    device = tensors[0].device
    for t in tensors:
        if t.device != device:
            raise ValueError(f"{op}: all tensors must be on one device, got {device} and {t.device}")
        if same_dtype and t.dtype != dtype:
            raise TypeError(f"{op}: all tensors must share one dtype, got {dtype} and {t.dtype}")
    if device.type == "cuda":
        if configs.interpreting():
            raise RuntimeError(f"{op}: CUDA tensors while TRITON_INTERPRET=1; unset it to compile")
    elif device.type == "cpu":
        if not configs.interpreting():
            raise RuntimeError(
                f"{op}: the triton backend needs CUDA tensors, or TRITON_INTERPRET=1 for CPU "
                "tensors; use microturn.kernels.use('reference') for the torch path")
    else:
        raise ValueError(f"{op}: unsupported device {device}")
    return dtype


def on_cuda(t: torch.Tensor) -> bool:
    return t.device.type == "cuda"


def widen(t: torch.Tensor) -> torch.Tensor:
    """Interpreter only: 16-bit operands as float32 (exact), see the module docstring."""
    if configs.interpreting() and t.dtype in (torch.float16, torch.bfloat16):
        return t.float()
    return t


def acc_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.float64 if dtype == torch.float64 else torch.float32


def storage_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype a kernel writes its 'input dtype' outputs in (float32 in the interpreter)."""
    if configs.interpreting() and dtype in (torch.float16, torch.bfloat16):
        return torch.float32
    return dtype


def round_like(t: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Interpreter only: round a float32 kernel output to the 16-bit dtype it stands for."""
    return t if t.dtype == dtype else t.to(dtype)


def tiles(kernel: str, rows: int, dtype: torch.dtype, cuda: bool) -> configs.Tiles:
    return configs.select(kernel, rows=rows, dtype_name=dtype_name(dtype), cuda=cuda)


def launch(kernel_fn, name: str, grid, t: configs.Tiles, *args, **constexprs):
    """Record the launch, then run it with the tiles' warps and stages."""
    backend.record(name, t, grid)
    kernel_fn[grid](*args, **constexprs, num_warps=t.num_warps, num_stages=t.num_stages)


@triton.jit
def dot(a, b, acc, IEEE: tl.constexpr):
    """acc += a @ b; IEEE=True keeps float32 dots in full float32 (no TF32) on CUDA.
    out_dtype names the accumulator's dtype: compiled Triton otherwise assumes float32 and
    rejects a float64 accumulator (seen on an H200 with Triton 3.6; the interpreter accepts it)."""
    if IEEE:
        return tl.dot(a, b, acc, input_precision="ieee", out_dtype=acc.dtype)
    else:
        return tl.dot(a, b, acc, out_dtype=acc.dtype)


def ieee(dtype: torch.dtype) -> bool:
    """float32 operands (real float32, or 16-bit widened in the interpreter) need IEEE dots."""
    return storage_dtype(dtype) == torch.float32


def tl_dtype(dtype: torch.dtype):
    return {torch.float16: tl.float16, torch.bfloat16: tl.bfloat16, torch.float32: tl.float32,
            torch.float64: tl.float64}[dtype]
