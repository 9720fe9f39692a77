"""The background reasoner: a gRPC service that thinks slowly so the conversation never waits.

Read in this order:
- `protos/reasoner.proto` (and `worker.proto`): the wire contract; `protogen.py` regenerates
  the checked-in Python code (`make proto`), and a test fails when it is stale.
- `microturn.reasoner` (sdk/reasoner.py): `ReasonerBackend`, the base class backends subclass.
- `backends/`: `local` (exact maths with sympy, via `mathcheck.py`) and `openai` (any
  OpenAI-compatible chat-completions endpoint, streamed over httpx); `settings.py` configures them.
- `service.py`: sessions, context and requests in; interjections out; every request under its
  own timeout; bad input answered with gRPC status codes. `server.py` runs it with health checks.
- `link.py`: the engine's side (`ReasonerLink`), reconnecting and re-asking after faults;
  `launch.py` starts the service as its own process for `dev` and wires the link to an engine.
"""
