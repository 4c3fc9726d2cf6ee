"""Reference tests of individual optimizers."""
