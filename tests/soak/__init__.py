"""The chaos soak (`make soak`, and a short version in the test suite): see chaos.py."""
