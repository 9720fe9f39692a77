"""The scaffolding others build on: CLI, event catalogue, FloorPolicy registry."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from microturn.runtime import events
from microturn.runtime.cli import SUBCOMMANDS, build_parser
from microturn.runtime.engine import policy as fp


def test_cli_version_and_every_subcommand_has_help():
    out = subprocess.run([sys.executable, "-m", "microturn.runtime", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("microturn ")
    parser = build_parser()
    for name in SUBCOMMANDS:
        with pytest.raises(SystemExit) as exc:
            parser.parse_args([name, "--help"])
        assert exc.value.code == 0


def test_inbound_event_is_validated():
    msg = events.parse_inbound(json.dumps({"type": "user.text", "text": "hi", "media_ms": 40}))
    assert msg == {"type": "user.text", "text": "hi", "media_ms": 40}


@pytest.mark.parametrize(
    "raw, code",
    [
        ("{not json", "bad_json"),
        ("[1, 2]", "bad_event"),
        (json.dumps({"type": "nope.nope"}), "unknown_type"),
        (json.dumps({"type": "agent.speech.started", "speech_id": "x", "text": "t"}), "unknown_type"),
        (json.dumps({"type": "user.text", "text": 5}), "bad_field"),
        (json.dumps({"type": "user.text", "text": "a", "media_ms": -1}), "bad_field"),
        (json.dumps({"type": "user.text", "text": "a" * (events.MAX_MESSAGE_BYTES + 1)}), "too_large"),
    ],
)
def test_bad_inbound_events_get_a_code(raw, code):
    with pytest.raises(events.EventError) as exc:
        events.parse_inbound(raw)
    assert exc.value.code == code


def test_outbound_events_need_their_fields():
    ev = events.make_event("transcript.delta", 200, role="user", text="hel")
    assert ev["type"] == "transcript.delta" and ev["media_ms"] == 200
    with pytest.raises(TypeError):
        events.make_event("transcript.delta", 200, role="user")
    with pytest.raises(KeyError):
        events.make_event("no.such", 0)
    assert all("." in name for name in events.CATALOGUE if name != "error")


def test_policy_registry_round_trip():
    @fp.register_policy("test-always-listen")
    class AlwaysListen:
        def open(self, session_id): ...
        def close(self, session_id): ...
        def step(self, turns):
            return [fp.TurnDecision() for _ in turns]

    pol = fp.make_policy("test-always-listen")
    assert isinstance(pol, fp.FloorPolicy)
    turn = fp.TurnInput("s", 200, np.zeros(fp.SAMPLES_PER_TURN, np.float32))
    assert pol.step([turn])[0].action is fp.FloorAction.LISTEN
    assert "test-always-listen" in fp.policy_names()
    with pytest.raises(ValueError, match="unknown floor policy"):
        fp.make_policy("no-such-policy")
