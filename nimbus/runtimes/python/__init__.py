"""Nimbus's Python runtime interface client (standard library only; runs in the sandbox)."""
