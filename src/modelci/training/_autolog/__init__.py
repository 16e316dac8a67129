"""Holds the sitecustomize module put on PYTHONPATH for training commands."""
