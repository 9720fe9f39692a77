"""Training data generation and training of the interaction model."""
