"""The microturn runtime: HTTP server, WebRTC, micro-turn engine, model, speech, reasoner."""
