"""Tests of losstune.optim: optimizers, the SAM wrapper and learning-rate schedules."""
