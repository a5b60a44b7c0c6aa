"""Talking to Convex: the HTTP client, the outbox drain, the backend process."""
