"""Remote agent workers: the runtime's worker hub (`hub.py`) and the worker process (`agent_worker.py`)."""
