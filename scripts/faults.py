"""Fault scenarios over the three processes of scripts/stack3.py (filled in step by step)."""

SCENARIOS = []
