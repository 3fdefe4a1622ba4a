"""Serving the SavedModel with TF Serving: config, compose file, client, local stand-in."""
