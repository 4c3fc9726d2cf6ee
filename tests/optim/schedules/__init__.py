"""Contract and reference tests of the learning-rate schedules."""
