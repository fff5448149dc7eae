"""The `skillstack` admin command: operations that are not any one service's."""

import argparse
import os
import sys

from shared.bus.kafka import ensure_topics


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="skillstack", description="Skillstack administration")
    commands = parser.add_subparsers(dest="command", required=True)
    topics = commands.add_parser("create-topics", help="create the missing Kafka topics and their dead-letter topics")
    topics.add_argument("--bootstrap-servers", default=os.environ.get("SKILLSTACK_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    topics.add_argument("--partitions", type=int, default=int(os.environ.get("SKILLSTACK_KAFKA_TOPIC_PARTITIONS", "3")))
    topics.add_argument("--replication-factor", type=int, default=1)
    arguments = parser.parse_args(argv)
    if arguments.command == "create-topics":
        created = ensure_topics(arguments.bootstrap_servers, arguments.partitions, arguments.replication_factor)
        print(f"created {len(created)} topic(s)" + (f": {', '.join(created)}" if created else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
