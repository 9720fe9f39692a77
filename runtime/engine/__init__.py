"""The micro-turn engine: clock, per-session state, batched policy step, floor control, delivery."""
