"""The token layout of one micro-turn: an input block, then an output block.

Every micro-turn appends the same number of tokens to a session's sequence, in this order
(counts are for `tiny`; see `ModelConfig`):

    input block                                           output block
    TURN | A0..A4 | V0..V3 | U0..U3      | G0..G3          | ACT | O0..O3
    flags  audio    video    user bytes    agent bytes       floor  text slots

- TURN: a marker carrying this turn's flags (agent speaking, video changed, timer due,
  interjection pending, urgent interjection pending).
- A*: one dMel token per 40 ms of audio (5 per 200 ms micro-turn).
- V*: the latest video frame as patch tokens from the hierarchical MLP (a learned "no video"
  vector when there is no frame).
- U*: user text bytes (data channel, ASR) fed at most `text_in` per turn, oldest first; the rest
  wait in the session's queue. NONE fills empty slots.
- G*: the bytes the model's text head wrote in the previous micro-turn, fed back so the model
  sees what it said (NONE when it said nothing).
- ACT: its final hidden state goes to the floor-action head.
- O*: `text_out` query slots; slot j's final hidden state goes to the text head and predicts
  byte j of this turn's output. Decoding is parallel within a turn (one forward pass per
  micro-turn), autoregressive across turns through G*.

Because the layout is fixed, all sessions append the same count per step, and a bounded window
of W micro-turns is exactly W * length tokens, evicted one whole block at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

NONE_BYTE = 256  # text id meaning "no byte in this slot"


@dataclass(frozen=True)
class BlockLayout:
    """Start offset and width of each slot group within one micro-turn block."""

    audio: int
    video: int
    text_in: int
    text_out: int

    @classmethod
    def for_config(cls, config) -> "BlockLayout":
        return cls(
            audio=5,
            video=config.video_tokens_side ** 2,
            text_in=config.text_in,
            text_out=config.text_out,
        )

    # offsets, in layout order
    @property
    def turn(self) -> int:
        return 0

    @property
    def audio_start(self) -> int:
        return 1

    @property
    def video_start(self) -> int:
        return self.audio_start + self.audio

    @property
    def user_start(self) -> int:
        return self.video_start + self.video

    @property
    def agent_start(self) -> int:
        return self.user_start + self.text_in

    @property
    def act(self) -> int:
        return self.agent_start + self.text_out

    @property
    def out_start(self) -> int:
        return self.act + 1

    @property
    def length(self) -> int:
        return self.out_start + self.text_out

    @property
    def input_length(self) -> int:
        return self.act

    def describe(self) -> list[dict]:
        return [
            {"slot": "TURN", "start": self.turn, "count": 1, "block": "input"},
            {"slot": "AUDIO", "start": self.audio_start, "count": self.audio, "block": "input"},
            {"slot": "VIDEO", "start": self.video_start, "count": self.video, "block": "input"},
            {"slot": "USER_TEXT", "start": self.user_start, "count": self.text_in, "block": "input"},
            {"slot": "AGENT_TEXT", "start": self.agent_start, "count": self.text_out, "block": "input"},
            {"slot": "ACT", "start": self.act, "count": 1, "block": "output"},
            {"slot": "TEXT_OUT", "start": self.out_start, "count": self.text_out, "block": "output"},
        ]
