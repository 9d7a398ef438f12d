"""Inbound webhooks: intake (verify, store raw, answer fast), the handler registry, and processing."""
