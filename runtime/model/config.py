"""Model configurations and their parameter counts.

A `ModelConfig` fixes every shape of the interaction model. Three named configs ship:

- `tiny`: runs on a laptop CPU (the step budget is 20 ms per micro-turn for 16 sessions on two
  cores; `microturn bench step` measures it). Issue 6 trains this one.
- `gpu-1b`: about one billion parameters, for a single GPU.
- `tml-small`: the published TML-Interaction-Small shape (276B total, 12B active). It is never
  instantiated; its counts are computed from the shapes alone.

The counts below are computed from the shapes with the same formulas the module uses, and a
test checks that `count_params(tiny)` equals the sum of the instantiated module's tensors.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields

from microturn.runtime.model.layout import BlockLayout

FLOOR_ACTIONS = ("LISTEN", "BACKCHANNEL", "SPEAK", "CONTINUE", "YIELD", "INTERJECT")
TEXT_VOCAB = 257          # 256 byte values + NONE ("no byte here"), see layout.py
N_FLAGS = 5               # per-turn flags on the TURN token, see features.py


@dataclass(frozen=True)
class ModelConfig:
    """Every shape of the interaction model. Defaults are the `tiny` config."""

    name: str = "tiny"
    d_model: int = 64            # residual width
    n_layers: int = 4
    n_heads: int = 4             # query heads
    n_kv_heads: int = 2          # key/value heads (GQA: n_heads is a multiple of this)
    head_dim: int = 16
    n_experts: int = 4           # MoE experts per layer
    top_k: int = 2               # experts per token
    d_expert: int = 128          # expert hidden width (SwiGLU)
    # inputs
    n_mels: int = 16             # dMel bins per 40 ms audio frame
    pitch_bins: int = 0          # 0, or 2: a pitch and a periodicity level after them (pitch.py)
    audio_levels: int = 8        # quantisation levels per bin
    video_grid: int = 16         # frames are resized to video_grid x video_grid first
    video_patch: int = 4         # pixel patch side at the first MLP level
    video_tokens_side: int = 2   # the hierarchical MLP ends at this many tokens per side
    text_in: int = 4             # user text bytes per micro-turn
    text_out: int = 4            # bytes the text head writes per micro-turn
    # streaming
    window_turns: int = 32       # bounded KV window, in micro-turns (32 = 6.4 s)
    rope_theta: float = 10000.0
    norm_eps: float = 1e-5

    def __post_init__(self) -> None:
        problems = []
        if self.n_heads % self.n_kv_heads:
            problems.append("n_heads must be a multiple of n_kv_heads")
        if not 1 <= self.top_k <= self.n_experts:
            problems.append("top_k must be in 1..n_experts")
        if self.video_grid % self.video_patch:
            problems.append("video_grid must be a multiple of video_patch")
        side = self.video_grid // self.video_patch
        if side % self.video_tokens_side or (side // self.video_tokens_side) & (side // self.video_tokens_side - 1):
            problems.append("video_grid/video_patch must be video_tokens_side times a power of two")
        if self.pitch_bins not in (0, 2):
            problems.append("pitch_bins must be 0 or 2")
        if self.head_dim % 2:
            problems.append("head_dim must be even (RoPE rotates pairs)")
        if problems:
            raise ValueError(f"invalid model config {self.name!r}: " + "; ".join(problems))

    @property
    def audio_bins(self) -> int:
        """Levels per audio frame: the dMel bins, then the pitch bins."""
        return self.n_mels + self.pitch_bins

    @property
    def layout(self) -> BlockLayout:
        return BlockLayout.for_config(self)

    @property
    def tokens_per_turn(self) -> int:
        return self.layout.length

    @property
    def video_merge_levels(self) -> int:
        """How many 2x2 merges take the patch grid down to video_tokens_side."""
        ratio = self.video_grid // self.video_patch // self.video_tokens_side
        return ratio.bit_length() - 1

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict) -> "ModelConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown model config keys: {', '.join(unknown)}")
        return cls(**data)


CONFIGS: dict[str, ModelConfig] = {
    "tiny": ModelConfig(),
    # tiny with a finer audio input (40 dMel bins x 16 levels): turn ends are told by the shape
    # of the last syllables (falling energy, lengthening), which 16 x 8 blurs. 41k more weights.
    "tiny-mel40": ModelConfig(name="tiny-mel40", n_mels=40, audio_levels=16),
    # tiny-mel40 with each frame's pitch and periodicity (pitch.py): the melody of the last words
    # says "done" or "more to come", and 40 dMel bins resolve it only coarsely. 2k more weights.
    "tiny-mel40-f0": ModelConfig(name="tiny-mel40-f0", n_mels=40, audio_levels=16, pitch_bins=2),
    # tiny-mel40 at twice the width, 6 layers and twice the expert width (2.8 M weights, 5x):
    # for training on a GPU, to see whether the turn ends want a bigger model.
    "small-mel40": ModelConfig(name="small-mel40", d_model=128, n_layers=6, n_heads=8, n_kv_heads=2,
                               d_expert=256, n_mels=40, audio_levels=16),
    "gpu-1b": ModelConfig(
        name="gpu-1b", d_model=1536, n_layers=16, n_heads=12, n_kv_heads=4, head_dim=128,
        n_experts=16, top_k=2, d_expert=768, n_mels=80, audio_levels=16, video_grid=64,
        video_patch=8, video_tokens_side=2, text_in=8, text_out=8, window_turns=150,
    ),
    # TML-Interaction-Small: 276B total / 12B active. Width and heads follow common large-MoE
    # practice; n_experts and top_k were solved for the two published totals.
    "tml-small": ModelConfig(
        name="tml-small", d_model=6144, n_layers=48, n_heads=48, n_kv_heads=8, head_dim=128,
        n_experts=150, top_k=4, d_expert=2048, n_mels=80, audio_levels=16, video_grid=128,
        video_patch=16, video_tokens_side=2, text_in=16, text_out=16, window_turns=600,
    ),
}


def get_config(name: str) -> ModelConfig:
    try:
        return CONFIGS[name]
    except KeyError:
        raise ValueError(f"unknown model config {name!r}; known: {', '.join(CONFIGS)}") from None


# -- parameter counts (must mirror transformer.py / embed.py) ---------------------------------


def _attention_params(c: ModelConfig) -> int:
    q = c.n_heads * c.head_dim
    kv = c.n_kv_heads * c.head_dim
    return c.d_model * (q + 2 * kv) + q * c.d_model


def _expert_params(c: ModelConfig) -> int:
    return 3 * c.d_model * c.d_expert  # gate + up [2I, H] and down [H, I]


def _embedding_params(c: ModelConfig) -> int:
    d = c.d_model
    lay = c.layout
    audio = c.audio_bins * c.audio_levels * d
    patch_in = c.video_patch * c.video_patch * 3
    video = patch_in * d + d + c.video_merge_levels * (4 * d * d + d) + d  # + no-video vector
    text = TEXT_VOCAB * d + 2 * d          # byte table + source (user / agent)
    specials = 2 * d + N_FLAGS * d         # TURN, ACT, flags
    positions = lay.length * d             # slot-in-block embedding
    return audio + video + text + specials + positions


def _head_params(c: ModelConfig) -> int:
    return c.d_model * (len(FLOOR_ACTIONS) + TEXT_VOCAB) + c.d_model  # + final norm


def count_params(c: ModelConfig) -> dict:
    """Total and active (per token) parameter counts, computed from shapes only."""
    per_layer_shared = _attention_params(c) + 2 * c.d_model + c.n_experts * c.d_model  # norms, router
    total = (
        _embedding_params(c)
        + c.n_layers * (per_layer_shared + c.n_experts * _expert_params(c))
        + _head_params(c)
    )
    active = (
        _embedding_params(c)
        + c.n_layers * (per_layer_shared + c.top_k * _expert_params(c))
        + _head_params(c)
    )
    return {"total": total, "active": active}


def describe(c: ModelConfig) -> dict:
    """What `microturn model info --json` prints."""
    counts = count_params(c)
    return {
        "config": c.name,
        "total_params": counts["total"],
        "active_params": counts["active"],
        "tokens_per_micro_turn": c.tokens_per_turn,
        "block_layout": c.layout.describe(),
        "kv_window_turns": c.window_turns,
        "kv_window_tokens": c.window_turns * c.tokens_per_turn,
        "shape": {f.name: getattr(c, f.name) for f in fields(c) if f.name != "name"},
    }
