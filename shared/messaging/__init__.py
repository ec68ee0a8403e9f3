"""Reliable messaging over Redis Streams: outbox, inbox, consumers, retries, dead letters, groups."""
