"""The ``fleetloop`` command line: one entry point, one module per domain registering its verbs.

Settings are resolved here, once: ``--home`` over the environment (``fleetloop/settings.py``); every handler
receives them as ``args.settings``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from fleetloop.settings import Settings, SettingsError

# Each module exposes ``register(subparsers)``; its parsers set ``func`` to the handler.
COMMAND_MODULES = (
    "fleetloop.sim.cli",
    "fleetloop.contract_cli",
    "fleetloop.ingest.cli",
    "fleetloop.realdata.cli",
    "fleetloop_shell.verbs",
    "fleetloop.quality.cli",
    "fleetloop.scorer.cli",
    "fleetloop.scorer.navsim.cli",
    "fleetloop.mining.cli",
    "fleetloop.curriculum.cli",
)

EPILOG = """examples:
  fleetloop demo                         simulate a fleet, run every day, publish, report
  fleetloop status                       the latest day's reconciliation, quarantine and gates
  fleetloop rerun --day 2026-11-30       rebuild one day
  fleetloop ui                           the Dagster UI on this installation's run history
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fleetloop", description=__doc__.split("\n")[0], epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", type=Path, default=None,
                        help="installation folder: landing, warehouse, published file, logs, Dagster instance "
                             "(default: $FLEETLOOP_HOME or ./data)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    for action in sub.choices.values():
        _show_defaults(action)
    return parser


def _show_defaults(parser: argparse.ArgumentParser) -> None:
    """Every option's help shows its default (argparse's formatter would also show the suppressed ones);
    epilogs (the examples) keep their lines."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _show_defaults(child)
        elif (action.help and action.option_strings and "default" not in action.help
              and not (action.default is None or action.default is False or action.default == argparse.SUPPRESS)):
            action.help += f" (default: {action.default})"


EXIT_USAGE = 2  # a wrong argument, a missing file, a bad setting: one line, no traceback
EXIT_REFUSED = 3  # another run holds the warehouse: the lock's message, nothing else


def main(argv: list[str] | None = None) -> int:
    """Parse, resolve the settings, run the verb; any other exception keeps its traceback."""
    from fleetloop_shell.runner import RunRefused

    args = build_parser().parse_args(argv)
    try:
        args.settings = Settings.from_env(home=args.home)
        return int(args.func(args) or 0)
    except RunRefused as exc:
        print(exc, file=sys.stderr)
        return EXIT_REFUSED
    except (ValueError, FileNotFoundError, SettingsError) as exc:
        print(f"fleetloop {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
