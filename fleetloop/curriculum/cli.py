"""``fleetloop curriculum``: ``build`` (case features, problems, trends and the curriculum with active mining on
the working warehouse, under the run lock) and ``export --out DIR`` (the stages' manifests from the published
warehouse)."""

from __future__ import annotations

import argparse
from pathlib import Path

from fleetloop.curriculum.config import DEFAULT_CONFIG
from fleetloop.curriculum.export import export_curriculum
from fleetloop.curriculum.pipeline import run_all
from fleetloop.publish import connect_published
from fleetloop.runlock import holding
from fleetloop.warehouse import connect

LOCK_PURPOSE = "fleetloop curriculum build"
EPILOG = """examples:
  fleetloop curriculum build
  fleetloop curriculum export --out /tmp/curriculum
  fleetloop curriculum export --out /tmp/curriculum --warehouse data/warehouse/fleetloop.duckdb
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("curriculum", help="problem scenarios, their trends and the training curriculum",
                       epilog=EPILOG)
    verbs = p.add_subparsers(dest="verb", required=True, metavar="VERB")
    b = verbs.add_parser("build", help="rebuild problems, trends and curriculum on the working warehouse "
                                       "(the daily run does this too)",
                         epilog="example:\n  fleetloop curriculum build")
    b.set_defaults(func=cmd_build)
    e = verbs.add_parser("export", help="write a manifest (Parquet + JSON) per curriculum stage",
                         epilog="examples:\n  fleetloop curriculum export --out /tmp/curriculum\n"
                                "  fleetloop curriculum export --out /tmp/curriculum "
                                "--warehouse data/warehouse/fleetloop.duckdb")
    e.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder of the manifests (required)")
    e.add_argument("--warehouse", type=Path, metavar="FILE",
                   help="DuckDB file holding the curriculum (default: the published warehouse)")
    e.set_defaults(func=cmd_export)


def cmd_build(args: argparse.Namespace) -> int:
    working = args.settings.warehouse
    if not working.is_file():
        raise FileNotFoundError(f"no working warehouse at {working}")
    with holding(working, None, purpose=LOCK_PURPOSE), connect(working, args.settings) as con:
        counts = run_all(con, DEFAULT_CONFIG)
    for name, n in counts.items():
        print(f"{name}: {n:,}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    path = args.warehouse or args.settings.published
    if not Path(path).is_file():
        raise FileNotFoundError(f"no warehouse at {path}")
    con = connect_published(path)
    try:
        index = export_curriculum(con, args.out)
    finally:
        con.close()
    for s in index:
        print(f"stage {s['stage']:>2}  {s['name']}: target {s['target_samples']:,}, weight {s['weight']}, "
              f"{s['package']} packages, {s['mined_clip']} mined clips -> {args.out / s['folder']}")
    print(f"{len(index)} stages written to {args.out}")
    return 0
