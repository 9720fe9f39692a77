// The microturn browser client: join a room over WebRTC, send the microphone (and optionally
// the camera), hear the agent, and show the live transcript from data-channel events.
//
// URL flags: room=NAME, token=JWT (else the token the dev server injected), autojoin=1 (join on
// load), camera=1, raw=1 (no echo cancellation / noise suppression / gain control: keeps test
// audio intact), record=1 (record sent and received audio for tests; see recorder.js).
// Automation reads window.microturn: state, sessionId, events, timing, recorder.
"use strict";

const params = new URLSearchParams(location.search);
const injected = window.MICROTURN_CONFIG || {};
const config = {
  room: params.get("room") || injected.room || "default",
  token: params.get("token") || injected.token || null,
  autojoin: params.get("autojoin") === "1",
  camera: params.get("camera") === "1",
  raw: params.get("raw") === "1",
  record: params.get("record") === "1",
};

const $ = (id) => document.getElementById(id);
const state = {
  state: "idle", sessionId: null, error: null, events: [], timing: {}, recorder: null,
  agentSpeaking: false, transcript: [],
};
window.microturn = state;

let pc = null, channel = null, localStream = null;

function setStatus(s, text) {
  state.state = s;
  $("status").dataset.state = s;
  $("status").textContent = text || s;
}

function mark(name) { state.timing[name] = performance.now(); }

// ---- transcript ------------------------------------------------------------------------------
const lines = { userPartial: null, agent: new Map() };

function addLine(role, text, cls = "") {
  const div = document.createElement("div");
  div.className = `line ${role} ${cls}`.trim();
  div.innerHTML = `<span class="who"></span><span class="text"></span>`;
  div.querySelector(".who").textContent = role === "user" ? "you" : role;
  div.querySelector(".text").textContent = text;
  $("transcript").appendChild(div);
  div.scrollIntoView({ block: "nearest" });
  return div;
}

function setText(div, text) { div.querySelector(".text").textContent = text; }

function setSpeaking(on) {
  state.agentSpeaking = on;
  $("speaking").dataset.speaking = String(on);
  $("speaking").textContent = on ? "agent speaking" : "agent silent";
}

function transcriptEntry(role, text, extra = {}) {
  const entry = { role, text, ...extra };
  state.transcript.push(entry);
  return entry;
}

function onEvent(ev) {
  ev.received_perf_ms = performance.now();
  state.events.push(ev);
  switch (ev.type) {
    case "session.started":
      mark("sessionStarted");
      break;
    case "transcript.delta":
      if (ev.role === "user") {
        if (!lines.userPartial) lines.userPartial = addLine("user", ev.text, "partial");
        else setText(lines.userPartial, ev.text);
      }
      break;
    case "transcript.final":
      if (ev.role === "user") {
        if (lines.userPartial) { lines.userPartial.remove(); lines.userPartial = null; }
        if (ev.text) { addLine("user", ev.text); transcriptEntry("user", ev.text); }
      }
      break;
    case "agent.speech.started": {
      // Interjections from the reasoner are voiced like any speech, marked by their kind.
      const div = addLine("agent", ev.text, ev.kind === "interjection" ? "interjection" : "");
      lines.agent.set(ev.speech_id, { div, entry: transcriptEntry("agent", ev.text, { speech_id: ev.speech_id, kind: ev.kind }) });
      setSpeaking(true);
      break;
    }
    case "agent.speech.finished": {
      const l = lines.agent.get(ev.speech_id);
      if (l) { setText(l.div, ev.text); l.entry.text = ev.text; l.entry.finished = true; }
      setSpeaking(false);
      break;
    }
    case "agent.speech.paused":  // held while someone talks over it; it may resume
      setSpeaking(false);
      break;
    case "agent.speech.resumed":
      setSpeaking(true);
      break;
    case "agent.speech.interrupted": {
      // Keep only what was actually heard.
      const l = lines.agent.get(ev.speech_id);
      if (l) {
        setText(l.div, ev.played_text);
        l.div.classList.add("interrupted");
        l.entry.text = ev.played_text;
        l.entry.interrupted = true;
      }
      setSpeaking(false);
      break;
    }
    case "agent.backchannel":
      addLine("agent", ev.text, "partial");
      break;
    case "interjection.delivered":
      // Its words are already on screen from agent.speech.started (kind "interjection").
      state.interjections = (state.interjections || []).concat([{ id: ev.id, text: ev.text, delay_ms: ev.delay_ms }]);
      break;
    case "user.text":
      break;
    case "tool.result":
      addLine("tool", `${ev.name}: ${JSON.stringify(ev.result)}`, ev.ok ? "" : "error");
      break;
    case "error":
      addLine("error", `${ev.code}: ${ev.message}`, "error");
      break;
    case "session.ended":
      setStatus("ended", `session ended (${ev.reason})`);
      break;
  }
}

// ---- joining -------------------------------------------------------------------------------
function waitForIceGathering(peer, timeoutMs = 5000) {
  // aiortc does not trickle candidates, so the offer must carry all of ours.
  if (peer.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => { peer.removeEventListener("icegatheringstatechange", check); resolve(); };
    const check = () => { if (peer.iceGatheringState === "complete") done(); };
    peer.addEventListener("icegatheringstatechange", check);
    setTimeout(done, timeoutMs);
  });
}

async function join() {
  if (pc) return;
  state.error = null;
  state.timing = {};
  mark("joinStart");
  setStatus("joining", "joining...");
  $("join").disabled = true;
  try {
    const processing = !config.raw;
    localStream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: processing, noiseSuppression: processing, autoGainControl: processing,
               channelCount: 1 },
      video: config.camera || $("camera").checked ? { width: 320, height: 240 } : false,
    });
    mark("mediaReady");
    pc = new RTCPeerConnection({ bundlePolicy: "max-bundle", iceServers: [] });
    for (const track of localStream.getTracks()) pc.addTrack(track, localStream);
    channel = pc.createDataChannel("events");
    channel.onopen = () => {
      mark("channelOpen");
      $("text").disabled = false;
      $("send").disabled = false;
    };
    channel.onmessage = (m) => {
      try { onEvent(JSON.parse(m.data)); } catch (e) { console.error("bad event", m.data, e); }
    };
    pc.ontrack = (e) => {
      const stream = e.streams[0] || new MediaStream([e.track]);
      // Web Audio hears a remote stream only while a media element also plays it.
      $("agent-audio").srcObject = stream;
      if (config.record && e.track.kind === "audio" && !state.recorder) {
        state.recorder = new DuplexRecorder(localStream, stream);
      }
    };
    pc.onconnectionstatechange = () => {
      const s = pc ? pc.connectionState : "closed";
      if (s === "connected") { mark("connected"); setStatus("connected", `connected to ${config.room}`); }
      else if (s === "failed" || s === "closed") setStatus(s === "failed" ? "failed" : "ended", `connection ${s}`);
    };
    await pc.setLocalDescription(await pc.createOffer());
    await waitForIceGathering(pc);
    mark("offerReady");
    const resp = await fetch(`/v1/rooms/${encodeURIComponent(config.room)}/join`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ sdp: pc.localDescription.sdp, type: pc.localDescription.type, token: config.token }),
    });
    const body = await resp.json();
    if (!resp.ok) throw new Error(`${resp.status} ${body.error}: ${body.message}`);
    state.sessionId = body.session_id;
    await pc.setRemoteDescription({ sdp: body.sdp, type: body.type });
    mark("answered");
    $("leave").disabled = false;
  } catch (err) {
    state.error = String(err && err.message || err);
    setStatus("failed", `could not join: ${state.error}`);
    addLine("error", state.error, "error");
    leave();
  }
}

function leave() {
  if (channel) { try { channel.close(); } catch (e) {} channel = null; }
  if (pc) { pc.close(); pc = null; }
  if (localStream) { localStream.getTracks().forEach((t) => t.stop()); localStream = null; }
  setSpeaking(false);
  $("join").disabled = false;
  $("leave").disabled = true;
  $("text").disabled = true;
  $("send").disabled = true;
  if (state.state !== "failed") setStatus("idle", "not connected");
}

function sendText(text) {
  if (!channel || channel.readyState !== "open") return false;
  channel.send(JSON.stringify({ type: "user.text", text }));
  addLine("user", text);
  transcriptEntry("user", text, { typed: true });
  return true;
}
state.sendText = sendText;
state.sendRaw = (raw) => channel && channel.readyState === "open" && (channel.send(raw), true);
state.leave = leave;
// What the microphone track has cost on the wire so far (automation reads the Opus bitrate).
state.audioSendStats = async () => {
  if (!pc) return null;
  for (const s of (await pc.getStats()).values()) {
    if (s.type === "outbound-rtp" && s.kind === "audio") {
      return { bytesSent: s.bytesSent, packetsSent: s.packetsSent, perfMs: performance.now() };
    }
  }
  return null;
};

$("room").textContent = `room: ${config.room}`;
$("camera").checked = config.camera;
$("join").onclick = join;
$("leave").onclick = leave;
$("textform").onsubmit = (e) => {
  e.preventDefault();
  const t = $("text").value.trim();
  if (t && sendText(t)) $("text").value = "";
};
// Hang up properly when the tab goes away, so the server can release the session at once.
window.addEventListener("pagehide", () => { if (pc) leave(); });
if (config.autojoin) join();
