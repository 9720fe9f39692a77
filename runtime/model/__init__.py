"""The interaction model: MoE early-fusion transformer, configs, checkpoints, backends."""
