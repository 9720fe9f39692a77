"""Per-session KV caches with a bounded window, and ONE batched step over many sessions.

Storage is a pool: keys and values of every live session in two tensors
`[n_layers, slots, window_tokens, Hkv, D]`, session i in slot i, valid up to `length[i]`.
Live sessions are kept packed in slots 0..n-1 (closing a session moves the last one into its
slot), so a step over all of them reads the pool without gathering.

A step appends one micro-turn block (`tokens_per_turn` tokens) per session. A session whose
cache would overflow the window first drops its oldest micro-turn (a shift by one block), so
the window always starts on a block boundary and holds at most `window_turns` micro-turns,
the current one included.

The buffer handed to the model is padded to the longest cache in the batch plus one block, or to
the full window whatever the batch when the ops ask for it (`pad_to_window`: the torch
invariant mode needs fixed shapes, see backends.py); the model writes the new block into it in
place.
"""

from __future__ import annotations

import torch

from microturn.runtime.model.features import TurnTensors
from microturn.runtime.model.transformer import InteractionModel


class StreamingSessions:
    def __init__(self, model: InteractionModel, initial_slots: int = 8):
        self.model = model
        c = model.config
        self.block = c.tokens_per_turn
        self.capacity = c.window_turns * self.block
        self._shape = (c.n_layers, 0, self.capacity, c.n_kv_heads, c.head_dim)
        p = model.final_norm
        self.k = torch.zeros(self._shape, dtype=p.dtype, device=p.device)
        self.v = torch.zeros_like(self.k)
        self.length = torch.zeros(0, dtype=torch.long)     # tokens in the window
        self.position = torch.zeros(0, dtype=torch.long)   # tokens since the session opened
        self.order: list[str] = []            # session id in slot i
        self._grow(initial_slots)

    # -- sessions ---------------------------------------------------------------------------

    def __contains__(self, session_id: str) -> bool:
        return session_id in self.order

    def __len__(self) -> int:
        return len(self.order)

    def open(self, session_id: str) -> None:
        if session_id in self.order:
            raise ValueError(f"session {session_id!r} is already open")
        if len(self.order) == self.k.shape[1]:
            self._grow(2 * self.k.shape[1])
        slot = len(self.order)
        self.order.append(session_id)
        self.length[slot] = 0
        self.position[slot] = 0
        self.k[:, slot].zero_()   # no stale values from an earlier session, even masked ones
        self.v[:, slot].zero_()

    def close(self, session_id: str) -> None:
        slot = self.order.index(session_id)
        last = len(self.order) - 1
        if slot != last:  # keep the live slots packed
            self.k[:, slot] = self.k[:, last]
            self.v[:, slot] = self.v[:, last]
            self.length[slot] = self.length[last]
            self.position[slot] = self.position[last]
            self.order[slot] = self.order[last]
        self.order.pop()
        self.length[last] = 0

    def cache_length(self, session_id: str) -> int:
        """Tokens held for a session (a multiple of tokens_per_turn)."""
        return int(self.length[self.order.index(session_id)])

    def _grow(self, slots: int) -> None:
        extra = slots - self.k.shape[1]
        shape = list(self._shape)
        shape[1] = extra
        self.k = torch.cat([self.k, self.k.new_zeros(shape)], dim=1)
        self.v = torch.cat([self.v, self.v.new_zeros(shape)], dim=1)
        self.length = torch.cat([self.length, torch.zeros(extra, dtype=torch.long)])
        self.position = torch.cat([self.position, torch.zeros(extra, dtype=torch.long)])

    # -- the step ---------------------------------------------------------------------------

    @torch.no_grad()
    def step(self, session_ids: list[str], tt: TurnTensors) -> tuple[torch.Tensor, torch.Tensor]:
        """One micro-turn for the given sessions (rows of `tt` in the same order).

        Returns floor logits [B, 6] and text logits [B, text_out, 257], rows in input order.
        """
        if tt.turns != 1:
            raise ValueError("a streaming step takes exactly one micro-turn per session")
        if len(session_ids) != tt.batch:
            raise ValueError(f"{len(session_ids)} session ids for {tt.batch} input rows")
        if len(set(session_ids)) != len(session_ids):
            raise ValueError("a session appears more than once in one step")
        missing = [s for s in session_ids if s not in self.order]
        if missing:
            raise KeyError(f"sessions not open: {', '.join(missing)}")
        if not session_ids:
            c = self.model.config
            return torch.zeros(0, 6), torch.zeros(0, c.text_out, 257)  # nothing to run
        slots = torch.tensor([self.order.index(s) for s in session_ids])
        # run in slot order, so that a step over every open session reads the pool in place
        order = torch.argsort(slots)
        slots, tt = slots[order], tt.index(order)
        self._evict(slots)
        lengths = self.length[slots]
        fixed = getattr(self.model.ops, "pad_to_window", False)
        s = self.capacity if fixed else int(lengths.max()) + self.block
        packed = bool(torch.equal(slots, torch.arange(len(self.order))))
        if packed:  # a view: the model writes the new keys straight into the pool
            k_buf, v_buf = self.k[:, : len(slots), :s], self.v[:, : len(slots), :s]
        else:       # a subset of sessions: gather, run, put the new entries back
            k_buf, v_buf = self.k[:, slots, :s], self.v[:, slots, :s]
        device = self.k.device
        floor, text = self.model(tt.to(device), k_buf, v_buf, lengths.to(device), self.position[slots].to(device))
        if not packed:
            positions = lengths[:, None] + torch.arange(self.block)          # [B, T]
            rows = torch.arange(len(slots), device=device)[:, None]
            self.k[:, slots[:, None], positions] = k_buf[:, rows, positions.to(device)]
            self.v[:, slots[:, None], positions] = v_buf[:, rows, positions.to(device)]
        self.length[slots] = lengths + self.block
        self.position[slots] += self.block
        restore = torch.argsort(order)
        return floor[restore, 0], text[restore, 0]

    def _evict(self, slots: torch.Tensor) -> None:
        """Drop the oldest micro-turn of every session whose window is full."""
        full = slots[self.length[slots] + self.block > self.capacity]
        if full.numel() == 0:
            return
        keep = self.capacity - self.block
        lo, hi = int(full[0]), int(full[-1]) + 1
        if hi - lo == full.numel():  # consecutive slots (the steady state): plain slices
            for pool in (self.k, self.v):
                pool[:, lo:hi, :keep] = pool[:, lo:hi, self.block:].clone()
        else:
            for pool in (self.k, self.v):
                pool[:, full, :keep] = pool[:, full, self.block:]  # the gather already copies
        self.length[full] -= self.block
