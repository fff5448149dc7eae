"""The `skillstack` admin command: operations that are not one request's or one event's.

Commands that need a service's code (replay, key rotation, a service's configuration) reach it
by module path (`services.<name>.app`, `services.issuer.signing`): `shared` imports no service.
"""

import argparse
import os

from shared.bus.kafka import ensure_topics
from shared.cli import config_check, dead_letters, service_commands
from shared.cli.options import add_bootstrap_servers


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run one subcommand; return its exit code."""
    parser = argparse.ArgumentParser(prog="skillstack", description="Skillstack administration")
    commands = parser.add_subparsers(dest="command", required=True)
    add_create_topics(commands)
    config_check.add_command(commands)
    dead_letters.add_command(commands)
    service_commands.add_commands(commands)
    arguments = parser.parse_args(argv)
    return arguments.run(arguments)


def add_create_topics(commands) -> None:
    topics = commands.add_parser("create-topics", help="create the missing Kafka topics and their dead-letter topics")
    add_bootstrap_servers(topics)
    topics.add_argument("--partitions", type=int, default=int(os.environ.get("SKILLSTACK_KAFKA_TOPIC_PARTITIONS", "3")))
    topics.add_argument("--replication-factor", type=int, default=1)
    topics.set_defaults(run=create_topics)


def create_topics(arguments) -> int:
    """Create every missing topic and its dead-letter topic."""
    created = ensure_topics(arguments.bootstrap_servers, arguments.partitions, arguments.replication_factor)
    print(f"created {len(created)} topic(s)" + (f": {', '.join(created)}" if created else ""))
    return 0
