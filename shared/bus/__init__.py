"""The Kafka bus: transactional outbox, its relay, and the idempotent consumer."""
