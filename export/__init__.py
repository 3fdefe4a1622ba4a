"""Exporters: SavedModel for TF Serving, TFLite for phones."""
