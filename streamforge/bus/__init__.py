"""Kafka transport: frames of a record type travel as compressed Arrow batches and are read back by exact offsets.

- broker.py: a local Tansu broker for development and tests
- config.py: client settings from the environment (PLAINTEXT, SASL, SSL)
- topics.py: every topic, declared once, and ensure_topics
- codec.py: frame <-> size-bounded Arrow IPC messages with headers
- publisher.py: the process's shared producer
- frames.py: publish_frame / read_ranges and the OffsetRange bookkeeping
"""
