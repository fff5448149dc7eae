"""Subcommands that run a service's own code, reached by module path so `shared` imports no service.

- `skillstack replay <service> [args…]` runs the service's `replay-projections` Flask command,
  exactly as `flask --app services.<service>.app replay-projections [args…]` does (pathways:
  ADR 0010; it rebuilds its catalog and held credentials together, in one transaction).
- `skillstack rotate-signing-key [--keys-file F]` runs `python -m services.issuer.signing rotate`.
"""

import argparse
import importlib
import sys

REPLAY_COMMAND = "replay-projections"
SIGNING_MODULE = "services.issuer.signing"


def add_commands(commands) -> None:
    replay = commands.add_parser("replay", help="rebuild a service's projections by replaying its topics")
    replay.add_argument("service", help="a service with projections, e.g. pathways")
    replay.add_argument("options", nargs=argparse.REMAINDER, help="passed on to the service's replay command")
    replay.set_defaults(run=replay_command)
    rotate = commands.add_parser(
        "rotate-signing-key", help="print the issuer's signing keys with a new key in front (the old ones kept to verify)"
    )
    rotate.add_argument("--keys-file", help="the current private JWK set ('-' for standard input; default: SKILLSTACK_ISSUER_SIGNING_KEYS)")
    rotate.set_defaults(run=rotate_command)


def replay_command(arguments) -> int:
    """Create the service's app from the environment and run its replay command in it."""
    try:
        app = importlib.import_module(f"services.{arguments.service}.app").create_app()
    except ModuleNotFoundError:
        print(f"skillstack: no service named {arguments.service!r}", file=sys.stderr)
        return 2
    command = app.cli.commands.get(REPLAY_COMMAND)
    if command is None:
        print(f"skillstack: {arguments.service} has no projections to replay", file=sys.stderr)
        return 2
    with app.app_context():
        command.main(args=arguments.options, prog_name=f"skillstack replay {arguments.service}", standalone_mode=False)
    return 0


def rotate_command(arguments) -> int:
    """Delegate to the issuer's key rotation, which knows the key-set format."""
    signing = importlib.import_module(SIGNING_MODULE)
    return signing.main(["rotate"] + (["--keys-file", arguments.keys_file] if arguments.keys_file else []))
