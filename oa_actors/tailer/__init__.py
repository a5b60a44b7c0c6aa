"""Tailing session folders: which files changed, what was appended, and batches of new rows."""
