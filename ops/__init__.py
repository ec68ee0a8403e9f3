"""Operators' tools over the event log: read and filter entries as CloudEvents, consumer-group lag,
dead-letter redrive/discard, replay and causal traces. Used by ``linli events`` and ``/console``."""
