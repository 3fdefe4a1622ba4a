"""Importing the official PyTorch StarGAN checkpoints."""
