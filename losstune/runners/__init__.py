"""Runners train one trial from a recipe and report per-epoch metrics to a reporter."""
