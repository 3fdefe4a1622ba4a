"""Datasets: each yields (image in [-1, 1], labels) examples for one label set."""
