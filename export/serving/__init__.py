"""Serving the SavedModel with TF Serving: config, compose file, client (a local stand-in
server for tests lives in tools.serving_stand_in)."""
