"""Training: the engine (the paper's objectives), losses, schedule, loop, monitoring,
distribution and precision. Reads batches from data/, writes a run directory."""
