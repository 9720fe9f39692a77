"""Regenerate the Python code for the .proto files in `protos/` (`make proto`).

    python -m microturn.runtime.reasoner.protogen          # rewrite the generated modules
    python -m microturn.runtime.reasoner.protogen --check  # exit 1 when they are stale

The sources live in `runtime/`, but the package imports as `microturn.runtime`. protoc derives
the generated modules' imports from the path a .proto file has under its include root, so the
files are copied into a scratch tree shaped like the import path (`microturn/runtime/...`) and
compiled there; the generated `*_pb2_grpc.py` then import `microturn.runtime.reasoner.protos`.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

PROTO_DIR = Path(__file__).resolve().parent / "protos"
PACKAGE_PATH = Path("microturn/runtime/reasoner/protos")
PROTOS = ["reasoner.proto", "worker.proto"]


def generated_names(proto: str) -> list[str]:
    stem = proto.removesuffix(".proto")
    return [f"{stem}_pb2.py", f"{stem}_pb2.pyi", f"{stem}_pb2_grpc.py"]


def generate(proto_dir: Path = PROTO_DIR) -> dict[str, bytes]:
    """Compile every proto in `proto_dir` in a scratch tree; return {file name: content}."""
    from grpc_tools import protoc  # only needed here, not when serving

    include = Path(protoc.__file__).resolve().parent / "_proto"
    out: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        pkg = root / PACKAGE_PATH
        pkg.mkdir(parents=True)
        for proto in PROTOS:
            shutil.copyfile(proto_dir / proto, pkg / proto)
        for proto in PROTOS:
            rc = protoc.main([
                "grpc_tools.protoc", f"-I{root}", f"-I{include}",
                f"--python_out={root}", f"--pyi_out={root}", f"--grpc_python_out={root}",
                str(PACKAGE_PATH / proto),
            ])
            if rc != 0:
                raise RuntimeError(f"protoc failed on {proto} (exit {rc})")
            for name in generated_names(proto):
                out[name] = (pkg / name).read_bytes()
    return out


def stale_files(proto_dir: Path = PROTO_DIR) -> list[str]:
    """Names of generated files in `proto_dir` that differ from what protoc makes now (or are missing)."""
    return sorted(
        name for name, content in generate(proto_dir).items()
        if not (proto_dir / name).exists() or (proto_dir / name).read_bytes() != content
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale files (exit 1 if any)")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files(PROTO_DIR)
        for name in stale:
            print(f"stale: {PROTO_DIR / name}", file=sys.stderr)
        return 1 if stale else 0
    for name, content in generate(PROTO_DIR).items():
        (PROTO_DIR / name).write_bytes(content)
        print(f"wrote {PROTO_DIR / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
