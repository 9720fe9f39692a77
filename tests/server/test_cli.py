"""`microturn token`, `serve` refusing to start without a secret, loopback ICE staying off."""

from microturn.runtime.cli import main
from microturn.runtime.rtc import loopback
from microturn.runtime.server import create_app
from microturn.runtime.settings import Settings
from microturn.runtime.tokens import verify_token

from .doubles import ScriptedEngine

SECRET = "cli-test-secret-0123456789abcdef-0123456789"


def test_token_command_mints_a_token_the_server_accepts(monkeypatch, capsys):
    monkeypatch.setenv("MICROTURN_SECRET", SECRET)
    assert main(["token", "lab", "--identity", "ada", "--ttl", "60"]) == 0
    token = capsys.readouterr().out.strip()
    grant = verify_token(SECRET, token, "lab")
    assert grant.identity == "ada"


def test_token_command_needs_the_secret(monkeypatch, capsys):
    monkeypatch.delenv("MICROTURN_SECRET", raising=False)
    assert main(["token", "lab", "--identity", "ada"]) == 2
    assert "MICROTURN_SECRET" in capsys.readouterr().err


def test_serve_refuses_to_start_without_a_secret(monkeypatch, capsys):
    monkeypatch.delenv("MICROTURN_SECRET", raising=False)
    assert main(["serve"]) == 2
    assert "MICROTURN_SECRET" in capsys.readouterr().err
    monkeypatch.setenv("MICROTURN_SECRET", "short")
    assert main(["serve"]) == 2


def test_loopback_candidates_only_when_asked_for():
    was_enabled = loopback.loopback_host_candidates_enabled()
    loopback.disable_loopback_host_candidates()
    try:
        create_app(Settings(secret=SECRET), ScriptedEngine())
        assert not loopback.loopback_host_candidates_enabled()
        assert "127.0.0.1" not in loopback.aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=False)
        create_app(Settings(secret=SECRET, loopback_ice=True), ScriptedEngine())
        assert loopback.loopback_host_candidates_enabled()
        assert "127.0.0.1" in loopback.aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=False)
    finally:
        if was_enabled:
            loopback.enable_loopback_host_candidates()
