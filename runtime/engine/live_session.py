"""`LiveSession`: the engine's state for one conversation, and the `SessionPort` rtc/ talks to.

Per micro-turn the engine asks it to `cut_turn` (3200 samples of input, the newest video frame,
text that arrived, timers due) and, after the batched policy step, to `apply` the decision:
the floor controller (start the user's turn-end hook, cut the voice on YIELD, voice a
backchannel) and interjection delivery. Between ticks it takes peer input (`push_*`), hands
out agent audio (`pull_audio`) and handles the agent's command messages. Between ticks, its
`InputWatch` (watch.py) may act on a timer the policy armed (take the turn, or cut the agent on
a barge-in) as soon as a 32 ms VAD chunk shows the condition holds. Blocking work is done
by the engine's executors; everything here runs on the event loop and returns quickly.
"""

from __future__ import annotations

import logging
import uuid
from collections import deque
from typing import TYPE_CHECKING, Any

import numpy as np

from microturn import messages as m
from microturn.interjection import Interjection
from microturn.runtime import events
from microturn.runtime.engine.delivery import FloorState, InterjectionQueue, Pending
from microturn.runtime.engine.hearing import Hearing
from microturn.runtime.engine.listener import SPECULATE_AFTER_MS, Ahead, UserListener
from microturn.runtime.engine.policy import (MICRO_TURN_MS, SAMPLE_RATE, SAMPLES_PER_TURN, FloorAction,
                                             TurnDecision, TurnInput)
from microturn.runtime.engine.ports import EventSink
from microturn.runtime.engine.voice import AgentVoice, Utterance
from microturn.runtime.engine.watch import InputWatch

if TYPE_CHECKING:
    from microturn.runtime.engine.engine import Engine

log = logging.getLogger(__name__)


class LiveSession:
    """One live conversation inside the engine (implements `engine.ports.SessionPort`)."""

    def __init__(self, engine: "Engine", session_id: str, room: str, identity: str, send_event: EventSink,
                 agent: Any, vad: Any, asr: Any, watch_vad: Any = None, turn_words: Any = None):
        self.engine = engine
        self.session_id = session_id
        self.room = room
        self.identity = identity
        self._sink = send_event
        opts = engine.options
        self.media_ms = 0
        self._cut_clock_ms = engine.clock.now_ms()  # engine clock at the last cut (see now_ms)
        self.closed = False
        self._in: deque[np.ndarray] = deque()
        self._in_len = 0
        self._video: np.ndarray | None = None
        self._video_seen: np.ndarray | None = None  # thumbnail of the frame the last turn had
        self._video_changed = False
        self._texts: list[str] = []
        self._timers: list[tuple[int, str]] = []
        self._asks: dict[str, int] = {}          # request_id -> media time of the ask
        self.user_turn_open = False              # user speech since the agent last took the turn
        self._last_action: FloorAction | None = None
        self.decisions: list[TurnDecision] = []
        self.vad = vad  # the engine's own ear; used only inside the step executor
        # The between-tick watch (see watch.py) hears the input as it arrives, with its own VAD,
        # and acts on the policy's armed timers; positions count pushed input samples.
        early = opts.early_floor if opts.early_floor is not None else engine.clock.realtime
        self.watch = InputWatch(watch_vad, opts.vad_threshold, engine.run_step, engine.track_task,
                                self._watch_fired, self._watch_paused,
                                SPECULATE_AFTER_MS) if early and watch_vad is not None else None
        self._pushed = 0             # input samples pushed so far
        self._cut_pos = 0            # input position the last micro-turn ended at
        # what the listener has been given: input up to `_applied_pos`; the micro-turn cut but not
        # yet applied (its step is running) is `_unapplied`
        self._applied_pos = 0
        self._unapplied: np.ndarray | None = None
        self._taken_ahead_ms: int | None = None   # a turn taken between ticks: where its words ended
        self.interjections = InterjectionQueue(pause_ms=opts.user_pause_ms, idle_ms=opts.idle_ms,
                                               review_timeout_ms=opts.review_timeout_ms)
        self.voice = AgentVoice(engine.speech.tts, self, engine.run_speech, engine.track, self.now_ms,
                                on_underrun=engine.count_underrun)
        self.listener = UserListener(
            asr, pause_ms=opts.user_pause_ms, close_ms=opts.utterance_close_ms, partials=opts.asr_partials,
            run_blocking=engine.run_speech, track=engine.track,
            on_speech_started=lambda ms: self.emit("user.speech.started", media_ms=ms),
            on_speech_stopped=lambda ms: self.emit("user.speech.stopped", media_ms=ms),
            on_partial=lambda text: self.emit("transcript.delta", role="user", text=text),
            on_final=self._user_final, turn_words=turn_words, on_words=self._words_heard,
            on_words_ahead=self._words_ahead,
        )
        self._speak_if_words_complete = False  # the last decision asked to take the turn on a whole request
        # The agent's side of the message seam: an in-process `AgentRunner`, or whatever the
        # agent object makes itself (a remote worker's stand-in has `make_runner`). A runner has
        # deliver(dict), async aclose() and a `busy` flag.
        self.runner = None
        if agent is not None:
            make_runner = getattr(agent, "make_runner", None)
            if callable(make_runner):
                self.runner = make_runner(session_id, self.on_agent_message, room=room, identity=identity)
            else:
                from microturn.runner import AgentRunner

                self.runner = AgentRunner(agent, session_id, self.on_agent_message, room=room, identity=identity)

    # ---- output helpers ------------------------------------------------------------------

    def now_ms(self) -> int:
        """Media time now, between ticks too: the last micro-turn's end plus the time since it
        was cut (at most one micro-turn). Agent audio starts and cuts are stamped with it, so an
        answer started or cut between ticks (by the watch) is stamped when it is heard."""
        since = self.engine.clock.now_ms() - self._cut_clock_ms
        return self.media_ms + int(min(max(since, 0.0), MICRO_TURN_MS))

    def emit(self, event_type: str, /, media_ms: int | None = None, **fields: Any) -> None:
        """Send one catalogue event on the data channel; a failing sink is logged, not raised.
        Stamped `media_ms`, or the media time now (`now_ms`) when None."""
        if self.closed and event_type != "session.ended":
            return
        try:
            self._sink(events.make_event(event_type, self.now_ms() if media_ms is None else media_ms, **fields))
        except Exception:
            log.exception("session %s: could not send %s", self.session_id, event_type)

    def to_agent(self, msg: m.Message) -> None:
        if self.runner is not None:
            msg.media_ms = msg.media_ms or self.media_ms
            self.runner.deliver(msg.to_dict())

    def _context(self, kind: str, payload: dict[str, Any]) -> None:
        link = self.engine.reasoner
        if link is not None:
            try:
                link.context(self.session_id, kind, payload, self.media_ms)
            except Exception:
                log.exception("reasoner context failed")

    def _user_final(self, text: str, start_ms: int, end_ms: int) -> None:
        self.emit("transcript.final", role="user", text=text, start_ms=start_ms, end_ms=end_ms)
        self.to_agent(m.TranscriptAppended(role="user", text=text, start_ms=start_ms, end_ms=end_ms))
        self._context("transcript", {"role": "user", "text": text, "start_ms": start_ms, "end_ms": end_ms})

    # ---- SessionPort: what the peer pushes in and pulls out ------------------------------

    def push_audio(self, samples: np.ndarray) -> None:
        if self.closed:
            return
        a = np.asarray(samples, dtype=np.float32).reshape(-1)
        if a.size == 0:
            return
        if not np.isfinite(a).all():  # a broken decoder must not poison the VAD for everyone
            a = np.nan_to_num(a, nan=0.0, posinf=1.0, neginf=-1.0)
        self._in.append(a)
        self._in_len += a.size
        self._pushed += a.size
        if self.watch is not None:
            self.watch.push(a)
        # the peer ran ahead (a burst after a network stall): drop the oldest audio, so the
        # next micro-turn is at most `max_backlog_ms` behind the newest sample
        excess = self._in_len - (SAMPLE_RATE * self.engine.options.max_backlog_ms // 1000 + SAMPLES_PER_TURN)
        while excess > 0:
            head = self._in[0]
            if len(head) <= excess:
                self._in.popleft()
                self._in_len -= len(head)
                excess -= len(head)
            else:
                self._in[0] = head[excess:]
                self._in_len -= excess
                excess = 0

    def push_video(self, frame: np.ndarray) -> None:
        if self.closed:
            return
        frame = np.asarray(frame)
        if frame.ndim != 3 or frame.shape[2] != 3:
            log.warning("session %s: ignoring a video frame of shape %s", self.session_id, frame.shape)
            return
        self._video = frame  # compared with the last micro-turn's frame in `cut_turn`, not per frame

    def push_message(self, raw: str | bytes) -> None:
        try:
            msg = events.parse_inbound(raw)
        except events.EventError as exc:
            self.emit("error", code=exc.code, message=str(exc))
            return
        try:
            self._handle_inbound(msg)
        except Exception as exc:  # a bug handling one message must not end the session
            log.exception("session %s: inbound %s failed", self.session_id, msg.get("type"))
            self.emit("error", code="internal", message=f"could not handle {msg.get('type')}: {exc}")

    def pull_audio(self) -> np.ndarray:
        return self.voice.pull()

    async def close(self) -> None:
        await self.engine.close_session(self.session_id, "peer_left")

    # ---- inbound data-channel events -----------------------------------------------------

    def _handle_inbound(self, msg: dict[str, Any]) -> None:
        kind = msg["type"]
        if kind == "client.ping":
            self.emit("client.pong")
        elif kind == "user.text":
            text = msg["text"].strip()
            if not text:
                self.emit("error", code="bad_field", message="user.text: text is empty")
                return
            self._texts.append(text)
            self.emit("transcript.final", role="user", text=text, start_ms=self.media_ms, end_ms=self.media_ms)
            self.to_agent(m.TranscriptAppended(role="user", text=text, start_ms=self.media_ms, end_ms=self.media_ms))
            self.to_agent(m.UserText(text=text))
            self._context("user.text", {"text": text})
        elif kind == "tool.call":
            call_id = str(msg.get("call_id") or uuid.uuid4().hex[:12])
            if self.runner is None:
                self.emit("tool.result", name=msg["name"], ok=False, result=None, call_id=call_id,
                          error="this session has no agent to run tools")
                return
            self.to_agent(m.ToolCall(call_id=call_id, name=msg["name"], arguments=msg["arguments"]))
        elif kind.startswith("whiteboard."):
            self._video_changed = True
            self._context(kind, {k: v for k, v in msg.items() if k not in ("type", "media_ms")})

    # ---- the agent's commands -------------------------------------------------------------

    def on_agent_message(self, data: dict[str, Any]) -> None:
        """One command from the agent's `Session` (a dict, as it would arrive from a worker)."""
        if self.closed:
            return
        try:
            msg = m.message_from_dict(data)
        except m.MessageError as exc:
            log.warning("session %s: bad agent message: %s", self.session_id, exc)
            return
        if isinstance(msg, m.Say):
            text = msg.text[: self.engine.options.max_say_chars]
            self.voice.enqueue(Utterance(msg.speech_id, text, interruptible=msg.interruptible))
        elif isinstance(msg, m.Interrupt):
            self.voice.cut(msg.speech_id)
        elif isinstance(msg, m.SendEvent):
            event = {"media_ms": self.media_ms, **msg.event}
            try:
                self._sink(event)
            except Exception:
                log.exception("session %s: could not send an agent event", self.session_id)
        elif isinstance(msg, m.Ask):
            self.engine.ask(self, msg)
        elif isinstance(msg, m.SetTimer):
            self._timers.append((msg.at_ms, msg.name))
        elif isinstance(msg, m.OfferInterjection) and msg.interjection is not None:
            self.offer(msg.interjection)
        elif isinstance(msg, m.InterjectionVerdict):
            vetoed = self.interjections.review(msg.interjection_id, msg.interjection)
            if vetoed is not None:
                self._drop(vetoed, "vetoed")
        elif isinstance(msg, m.ToolCallResult):
            r = msg.result
            self.emit("tool.result", name=str(r.get("name")), ok=bool(r.get("ok")), result=r.get("result"),
                      error=r.get("error"), call_id=r.get("call_id", ""))

    def ask_failed(self, request_id: str, error: str) -> None:
        self._asks.pop(request_id, None)
        self.to_agent(m.AskFailed(request_id=request_id, error=error))

    # ---- interjections -------------------------------------------------------------------

    def offer(self, inj: Interjection) -> None:
        """An interjection for this session arrived: queue it and ask the agent to review it."""
        if not inj.request_id and self._asks:
            # a reasoner that did not echo the request id: match the ask it is anchored to
            rid = next((r for r, at in self._asks.items() if at == inj.anchor_ms), "")
            if rid:
                inj = Interjection.from_dict({**inj.to_dict(), "request_id": rid})
        self._asks.pop(inj.request_id, None)
        if not inj.text.strip():
            self._drop(Pending(inj, self.media_ms), "empty")
            return
        if inj.expired(self.media_ms):
            self._drop(Pending(inj, self.media_ms), "expired")
            return
        self.interjections.add(inj, self.media_ms, reviewed=self.runner is None)
        self.to_agent(m.InterjectionOffered(interjection=inj))

    def _drop(self, p: Pending, reason: str) -> None:
        inj = p.interjection
        self.emit("interjection.dropped", id=inj.id, reason=reason, anchor_ms=inj.anchor_ms,
                  delay_ms=self.media_ms - inj.anchor_ms, text=inj.text)
        self.engine.report_outcome(inj.id, False, reason)

    def _deliver(self, p: Pending) -> None:
        inj = p.interjection
        self.interjections.remove(p)
        self.voice.enqueue(Utterance(f"inj-{inj.id}", inj.text, kind="interjection", interjection_id=inj.id),
                           next_up=inj.priority == "urgent")
        self.emit("interjection.delivered", id=inj.id, text=inj.text, anchor_ms=inj.anchor_ms,
                  delay_ms=self.media_ms - inj.anchor_ms, priority=inj.priority,
                  waited_ms=self.media_ms - p.arrived_ms)
        self.engine.report_outcome(inj.id, True, "delivered")
        # The agent takes the floor with it: a user turn still open (they stopped, and nobody
        # answered yet) ends here, so what they said reaches the app and is answered after the
        # interjection. Left open, it was lost: with the agent talking the policy does not end
        # it, and after the interjection the policy saw the agent's turn end, not the user's.
        # (An urgent one voiced while they still speak leaves their turn open.)
        if not self.listener.speaking:
            self._take_turn()

    def _floor_state(self) -> FloorState:
        speaking = self.voice.speaking
        return FloorState(
            media_ms=self.media_ms,
            user_silent_ms=self.listener.silent_ms,
            agent_speaking=speaking,
            agent_silent_ms=0 if speaking else self.media_ms - self.voice.idle_since_ms,
            interjection_playing=self.voice.has_interjection(),
        )

    # ---- one micro-turn --------------------------------------------------------------------

    def cut_turn(self) -> TurnInput:
        """Take this micro-turn's input (padding with silence if the peer is behind)."""
        audio = np.zeros(SAMPLES_PER_TURN, np.float32)
        filled = 0
        while filled < SAMPLES_PER_TURN and self._in:
            chunk = self._in[0]
            take = min(len(chunk), SAMPLES_PER_TURN - filled)
            audio[filled:filled + take] = chunk[:take]
            filled += take
            if take == len(chunk):
                self._in.popleft()
            else:
                self._in[0] = chunk[take:]
        self._in_len -= filled
        self._cut_pos = self._pushed - self._in_len
        self._unapplied = audio[:filled]
        self.media_ms += MICRO_TURN_MS
        self._cut_clock_ms = self.engine.clock.now_ms()
        due = [(at, name) for at, name in self._timers if at <= self.media_ms]
        self._timers = [t for t in self._timers if t[0] > self.media_ms]
        for _, name in due:
            self.to_agent(m.TimerFired(name=name))
        self._video_changed |= self._picture_changed()
        if self._video_changed:
            self.to_agent(m.VisualChange())
        current = self.voice.current
        # The micro-turn that holds the last of the user's words, when their turn was taken
        # between ticks on a verdict the watch's pause started (`_words_ahead`), is still the
        # user's to the policy: in training the agent never starts within 200 ms of the user's
        # last word, and to the fallback's ear those words would be speech over the answer.
        users_turn = self._taken_ahead_ms is not None and self._taken_ahead_ms > self.media_ms - MICRO_TURN_MS
        self._taken_ahead_ms = None
        turn = TurnInput(
            session_id=self.session_id, media_ms=self.media_ms, audio=audio, video=self._video,
            video_changed=self._video_changed, text=self._texts,
            agent_speaking=self.voice.speaking and not users_turn,
            agent_text=current.text if current is not None and not users_turn else "",
            interjections=self.interjections.for_policy(), timer_due=bool(due),
            words_complete=self.listener.words_complete, words_checked=self.listener.has_word_check,
        )
        self._texts, self._video_changed = [], False
        return turn

    def _picture_changed(self) -> bool:
        """Did the newest frame change noticeably since the last micro-turn? (on a thumbnail)"""
        if self._video is None:
            return False
        thumb = self._video[::4, ::4].astype(np.int16)
        before, self._video_seen = self._video_seen, thumb
        if before is None:
            return False
        if before.shape != thumb.shape:
            return True
        return bool(np.abs(thumb - before).mean() >= self.engine.options.video_change_threshold)

    def apply(self, turn: TurnInput, hearing: Hearing, decision: TurnDecision, picks_interjections: bool) -> None:
        """Act on the policy's decision for this micro-turn: floor control, then delivery."""
        if self.listener.update(turn.audio, hearing, self.media_ms):
            self.user_turn_open = True
        self._applied_pos, self._unapplied = self._cut_pos, None
        if self.engine.options.record_decisions:
            self.decisions.append(decision)
        changed = decision.action is not self._last_action
        if changed:
            self._last_action = decision.action
            self.emit("floor.decision", action=decision.action.value)
        if decision.action is FloorAction.YIELD and self.voice.speaking:
            self._yield_floor()
        elif decision.action is FloorAction.SPEAK:
            self._take_turn()
            if decision.text and self.runner is None and not self.voice.speaking:
                # a policy that speaks for itself; an agent's hooks outrank it, so only without one
                self.voice.enqueue(Utterance(f"policy-{uuid.uuid4().hex[:8]}", decision.text, kind="policy"))
        elif decision.action is FloorAction.BACKCHANNEL and decision.text and changed and not self.voice.speaking:
            # one "mm-hm" for a run of BACKCHANNEL micro-turns: the model says where one fits,
            # not how many
            self.voice.enqueue(Utterance(f"bc-{uuid.uuid4().hex[:8]}", decision.text, kind="backchannel"))
            self.emit("agent.backchannel", text=decision.text)
        # after a YIELD's cut (which ends a pause silently), so only a voice that plays on resumes;
        # the agent's own backchannel is said over the user by design: never held
        current = self.voice.current
        self._hold(decision.hold and decision.action is FloorAction.CONTINUE and current is not None
                   and current.kind != "backchannel")
        if self.watch is not None:
            self.watch.arm_for(decision, agent_speaking=self.voice.speaking, user_turn_open=self.user_turn_open,
                               from_pos=self._cut_pos)
        # after listener.update, which may just have started the word check this decision waits for
        self._speak_if_words_complete = decision.speak_if_words_complete and decision.action is FloorAction.LISTEN
        for p in self.interjections.expire(self.media_ms):
            self._drop(p, "expired")
        requested = decision.interjection_id if decision.action is FloorAction.INTERJECT else None
        chosen = self.interjections.pick(self._floor_state(), requested, picks_interjections)
        if chosen is not None:
            self._deliver(chosen)

    def _hold(self, hold: bool) -> None:
        """Pause or resume the agent's voice (`TurnDecision.hold`): a pause keeps the floor and
        the position in the utterance, so resuming carries on from the same sample."""
        if hold == self.voice.paused:
            return
        self.voice.paused = hold
        # never empty here: a hold needs a current utterance, and a cut that empties the queue
        # ends the pause itself (`AgentVoice.cut`), while a paused voice pops nothing
        self.emit("agent.speech.paused" if hold else "agent.speech.resumed", speech_id=self.voice.current.speech_id)

    def _yield_floor(self, media_ms: int | None = None) -> None:
        """The user barged in: cut the agent (nothing is cut when only uninterruptible speech plays)."""
        if self.voice.cut(barge_in=True):
            self.emit("user.barged_in", media_ms=media_ms)
            self.to_agent(m.BargeIn())

    def _take_turn(self, media_ms: int | None = None) -> None:
        """The policy took the turn: if the user spoke, their turn ended (the hook gets the text).
        `media_ms`: when, if between ticks (user.turn.ended is stamped with it)."""
        for utt in [u for u in self.voice.queue if u.kind == "backchannel"]:
            self.voice.cut(utt.speech_id)  # the answer does not wait behind the agent's own "mm-hm"
        if self.user_turn_open:
            self.user_turn_open = False
            self.engine.track_task(self._end_user_turn(media_ms))

    # ---- the between-tick watch ------------------------------------------------------------

    def _watch_fired(self, kind: str, pos: int) -> None:
        """The watch's armed timer ran out at input position `pos`: act now, not at the next tick."""
        if self.closed:
            return
        at_ms = self.media_ms + max(0, pos - self._cut_pos) * 1000 // SAMPLE_RATE
        action = FloorAction.YIELD if kind == "yield" else FloorAction.SPEAK
        if action is FloorAction.YIELD and not self.voice.speaking:
            return
        if action is FloorAction.SPEAK and (not self.user_turn_open or self.voice.speaking):
            return
        if action is not self._last_action:
            self._last_action = action
            self.emit("floor.decision", media_ms=at_ms, action=action.value, early=True)
        if action is FloorAction.YIELD:
            self._yield_floor(at_ms)
        else:
            self._take_turn(at_ms)

    def _words_heard(self, complete: bool) -> None:
        """The turn-end word check on the user's words so far came back (between ticks). If the
        last decision asked for it (`speak_if_words_complete`) and the words are a whole request,
        take the turn now, provided the watch heard no speech since that decision's input
        (`_watch_fired` checks, as for the watch's own timers, that the user's turn is open and
        the agent silent)."""
        if not (complete and self._speak_if_words_complete) or self.closed or self.watch is None:
            return  # without a watch, the next tick's decision sees the verdict (`words_complete`)
        heard_to = self.watch.floor.silent_since(self._cut_pos)
        if heard_to is not None:
            self._speak_if_words_complete = False
            self._watch_fired("speak", heard_to)

    def _watch_paused(self, speech_end: int, pos: int) -> None:
        """The watch heard the user pause (64 ms of silence after speech ending at input position
        `speech_end`, as of `pos`): with a word check, start the speculative decode and the check
        now, on the input up to `pos`, instead of at the next tick (listener.py)."""
        if self.closed or self.voice.speaking or not self.listener.has_word_check:
            return
        pending = ([self._unapplied] if self._unapplied is not None else []) + list(self._in)
        need = max(0, pos - self._applied_pos)
        extra = np.concatenate(pending)[:need] if pending else np.zeros(0, np.float32)
        if extra.size < need:
            return  # input was dropped as backlog: positions no longer line up with the audio
        self.listener.speculate_ahead(extra, speech_end - self._applied_pos, token=pos)

    def _words_ahead(self, complete: bool, ahead: Ahead) -> None:
        """A verdict from `_watch_paused`'s speculation came before any tick: take the turn on a
        whole request as `_words_heard` does, if the watch heard no speech after what it covered."""
        if (not (complete and self._speak_if_words_complete) or self.closed or self.watch is None
                or not self.user_turn_open or self.voice.speaking):
            return
        heard_to = self.watch.floor.silent_since(ahead.token)
        if heard_to is not None and self.listener.commit_ahead(ahead):
            self._speak_if_words_complete = False
            self._taken_ahead_ms = ahead.speech_end_ms
            self._watch_fired("speak", heard_to)

    async def _end_user_turn(self, media_ms: int | None = None) -> None:
        text, start_ms, end_ms = await self.listener.end_turn()
        if self.closed:
            return
        self.emit("user.turn.ended", media_ms=media_ms, text=text, start_ms=start_ms, end_ms=end_ms)
        self.to_agent(m.UserTurn(text=text, start_ms=start_ms, end_ms=end_ms))

    # ---- VoiceListener -------------------------------------------------------------------

    def speech_started(self, utt: Utterance) -> None:
        if utt.kind != "backchannel":
            self.emit("agent.speech.started", speech_id=utt.speech_id, text=utt.text, kind=utt.kind)

    def speech_ended(self, utt: Utterance, interrupted: bool) -> None:
        played = utt.played_text() if utt.started_ms >= 0 else ""
        if utt.kind != "backchannel":
            if interrupted:
                self.emit("agent.speech.interrupted", speech_id=utt.speech_id, played_text=played,
                          text=utt.text, error=utt.failed or None)
            else:
                self.emit("agent.speech.finished", speech_id=utt.speech_id, text=utt.text)
        if played and utt.kind != "backchannel":
            start, end = max(utt.started_ms, 0), self.now_ms()
            self.emit("transcript.final", role="agent", text=played, start_ms=start, end_ms=end)
            self.to_agent(m.TranscriptAppended(role="agent", text=played, start_ms=start, end_ms=end))
            self._context("transcript", {"role": "agent", "text": played, "start_ms": start, "end_ms": end})
        if utt.kind == "say":
            self.to_agent(m.SpeechDone(speech_id=utt.speech_id, text=utt.text, text_played=played,
                                       interrupted=interrupted))
