"""Evaluation of trained runs: the sweep over held-out images, image and distribution
metrics, the evaluation classifier and the report."""
