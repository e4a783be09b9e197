"""A deterministic sample municipality for demos, tests and benchmarks."""
