"""The .proto sources and the code protoc generates from them (`make proto`; do not edit the
`*_pb2*.py` files by hand: `tests/reasoner/test_protos.py` fails when they are stale)."""
