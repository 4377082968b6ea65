"""The ``fleetloop`` command line: one entry point, one module per domain registering its verbs."""

from __future__ import annotations

import argparse
import importlib
import sys

# Each module exposes ``register(subparsers)``; its parsers set ``func`` to the handler.
COMMAND_MODULES = (
    "fleetloop.sim.cli",
    "fleetloop.contract_cli",
    "fleetloop.ingest.cli",
    "fleetloop.realdata.cli",
    "fleetloop.ops.cli",
    "fleetloop.quality.cli",
    "fleetloop.scorer.cli",
    "fleetloop.scorer.navsim.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fleetloop", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, KeyError, FileNotFoundError) as exc:
        print(f"fleetloop {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
