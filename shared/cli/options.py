"""Options several subcommands share."""

import os


def add_bootstrap_servers(parser) -> None:
    """`--bootstrap-servers`, defaulting to the brokers the services use (SKILLSTACK_KAFKA_BOOTSTRAP_SERVERS)."""
    parser.add_argument(
        "--bootstrap-servers", default=os.environ.get("SKILLSTACK_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
        help="Kafka brokers, comma-separated (default: SKILLSTACK_KAFKA_BOOTSTRAP_SERVERS)",
    )
