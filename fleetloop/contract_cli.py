"""``fleetloop contract``: print the raw log contract."""

from __future__ import annotations

import argparse
import json

from fleetloop.contract import SOURCES, markdown_table


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("contract", help="print the raw log contract (Markdown or JSON)",
                       epilog="examples:\n  fleetloop contract > docs/contract.md\n  fleetloop contract --json")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    if args.json:
        doc = {
            s.name: {
                "rate": s.rate,
                "primary_key": list(s.primary_key),
                "fields": [f.__dict__ for f in s.fields],
            }
            for s in SOURCES.values()
        }
        print(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        print(markdown_table())
    return 0
