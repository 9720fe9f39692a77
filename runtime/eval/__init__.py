"""FD-bench-style evaluation: stimuli synthesis, frame-synchronous runs, metrics."""
