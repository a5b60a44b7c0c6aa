"""Token usage and its estimated cost: the price table (`prices.py`, data in `prices.json`) and the
summary over the store's `system/usage` rows (`summary.py`; docs/usage.md)."""
