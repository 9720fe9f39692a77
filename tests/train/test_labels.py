"""Labels read off hand-built timelines, checked micro-turn by micro-turn."""

from __future__ import annotations

import pytest

from microturn.runtime.engine.policy import FloorAction
from microturn.runtime.train.labels import LabelOptions, label_timeline
from microturn.runtime.train.timeline import Span, Timeline, UserTurn

CODE = {"L": "LISTEN", "B": "BACKCHANNEL", "S": "SPEAK", "C": "CONTINUE", "Y": "YIELD", "I": "INTERJECT"}


def hand_built() -> Timeline:
    """Every situation once (times in ms; micro-turn k covers [200k, 200k+200)):
    - a user turn 200-1000 + 1600-2300 with a 600 ms mid-turn pause (no backchannel slot);
    - the agent answers at 2600, the first decision >= 2300 + 200;
    - a user "mm-hm" 3000-3300 while the agent talks;
    - an interruption from 3700 to 4500: the agent stops at 4000 (= 3700 + 300);
    - the agent answers the interruption 4800-5600;
    - a visual change at 6100 in silence, answered 6200-6800;
    - a timer due at 7000, answered 7200-7600;
    - side talk 7700-7950 while nobody holds the floor;
    - a monologue 8000-9000 + 9600-10400 whose pause is a backchannel slot; the agent says
      "mm-hm" 9200-9500; the monologue's end is never answered in this episode.
    """
    return Timeline(
        duration_ms=10_800,
        user_turns=[
            UserTurn(((200, 1000), (1600, 2300))),
            UserTurn(((3700, 4500),)),
            UserTurn(((8000, 9000), (9600, 10_400)), backchannel_pauses=frozenset({0})),
        ],
        user_backchannels=[Span(3000, 3300)],
        agent=[Span(2600, 4000, "turn"), Span(4800, 5600, "turn"), Span(6200, 6800, "turn"),
               Span(7200, 7600, "turn"), Span(9200, 9500, "backchannel")],
        others=[Span(7700, 7950, "side")],
        visual_events=[6100],
        timers=[7000],
    )


EXPECTED = (
    "LLLLLLLLLLLL"  # 0-11: before, during and in the pause of the first turn, and 200 ms after it
    "S"             # 12: t=2600 >= 2300+200: take the turn
    "SSCCSCY"       # 13-19: agent speaks; mm-hm (15,16); interruption starts in 18; yield at 4000
    "LLLS"          # 20-23: user interrupts until 4500; answer at 4800 >= 4700
    "SSSS"          # 24-27: the answer
    "LLS"           # 28-30: silence, then the visual change meets silence in micro-turn 30
    "SSS"           # 31-33: the agent speaks up
    "LS"            # 34-35: the timer falls due in micro-turn 35
    "SS"            # 36-37: reminder spoken
    "LL"            # 38-39: side talk among others: stay quiet
    "LLLLL"         # 40-44: monologue
    "B"             # 45: t=9200 = pause start 9000 + 200, and 9400 <= 9600: backchannel
    "LLLLLL"        # 46-51: agent's mm-hm plays (46,47), monologue goes on until 10400
    "SS"            # 52-53: 10600 >= 10400+200, unanswered: keep asking for the floor
)


def test_hand_built_labels_match_exactly():
    labels = label_timeline(hand_built())
    assert len(EXPECTED) == 54
    assert labels.names() == [CODE[c] for c in EXPECTED]


def test_agent_state_and_event_flags():
    labels = label_timeline(hand_built())
    turn = {*range(13, 20), *range(24, 28), 31, 32, 33, 36, 37}
    assert [k for k in range(54) if labels.agent_state[k] == 1] == sorted(turn)
    assert [k for k in range(54) if labels.agent_state[k] == 2] == [46, 47]
    assert labels.video_changed.nonzero()[0].tolist() == [30]
    assert labels.timer_due.nonzero()[0].tolist() == [35]


def test_tunable_delays_and_prompt_action():
    labels = label_timeline(hand_built(), LabelOptions(yield_delay_ms=500, speak_delay_ms=400,
                                                       prompt_action=FloorAction.INTERJECT))
    names = labels.names()
    # Yield only from t >= 3700 + 500 = 4200, but the agent's audio ends at 4000: the
    # interruption's first micro-turns are overlap to talk through.
    assert names[18:20] == ["CONTINUE", "CONTINUE"]
    assert "YIELD" not in names
    assert names[12] == "LISTEN"                       # 2600 < 2300 + 400
    assert names[52:54] == ["LISTEN", "SPEAK"]         # 10800 >= 10400 + 400
    assert names[30] == "INTERJECT" and names[35] == "INTERJECT"


def test_late_agent_keeps_being_asked():
    """When the agent acts late, the label stays SPEAK / YIELD until it does."""
    tl = Timeline(duration_ms=3000, user_turns=[UserTurn(((0, 600),)), UserTurn(((1500, 2600),))],
                  agent=[Span(1200, 2400, "turn")])
    names = label_timeline(tl).names()
    # turn end 600 -> SPEAK from t=800 (k=3); agent starts 1200 (two micro-turns late)
    assert names[:6] == ["LISTEN", "LISTEN", "LISTEN", "SPEAK", "SPEAK", "SPEAK"]
    # interruption at 1500 -> YIELD from t=1800 (k=8) while the agent still talks (until 2400)
    assert names[6:12] == ["SPEAK", "CONTINUE", "YIELD", "YIELD", "YIELD", "YIELD"]
    assert names[12:15] == ["LISTEN", "SPEAK", "SPEAK"]  # 2800 >= 2600 + 200 at k=13


def test_invalid_turns_are_rejected():
    with pytest.raises(ValueError):
        UserTurn(((500, 400),))
    with pytest.raises(ValueError):
        UserTurn(((0, 400), (300, 600)))
    with pytest.raises(ValueError):
        UserTurn(((0, 400),), backchannel_pauses=frozenset({0}))


def test_timeline_round_trips_through_dict():
    tl = hand_built()
    assert Timeline.from_dict(tl.to_dict()) == tl
