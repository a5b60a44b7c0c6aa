"""Tests of the actor runtime (real processes; see conftest.py)."""
