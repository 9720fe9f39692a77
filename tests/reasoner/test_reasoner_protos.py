"""The checked-in generated gRPC code matches the .proto files (run `make proto` when this fails)."""

from __future__ import annotations

import shutil

from microturn.runtime.reasoner import protogen


def test_generated_code_is_current():
    stale = protogen.stale_files()
    assert stale == [], f"stale generated code: {stale}; run `make proto`"


def test_check_notices_an_edited_proto(tmp_path):
    for f in protogen.PROTO_DIR.iterdir():
        if f.is_file():
            shutil.copy(f, tmp_path / f.name)
    proto = tmp_path / "reasoner.proto"
    proto.write_text(proto.read_text().replace("string reason = 8;", "string reason = 8;\n  string mood = 10;"))
    assert protogen.stale_files(tmp_path) == ["reasoner_pb2.py", "reasoner_pb2.pyi"]


def test_check_command_exit_status(tmp_path, monkeypatch, capsys):
    assert protogen.main(["--check"]) == 0
    for f in protogen.PROTO_DIR.iterdir():
        if f.is_file():
            shutil.copy(f, tmp_path / f.name)
    (tmp_path / "worker_pb2.py").write_text("# edited by hand\n")
    monkeypatch.setattr(protogen, "PROTO_DIR", tmp_path)
    assert protogen.main(["--check"]) == 1
    assert "stale:" in capsys.readouterr().err
