"""``fleetloop mine``: the clips of a mining query on the published warehouse's tag store, printed as a table or
written as CSV, Parquet or JSON, or queued as mined cases (``ads.ads_mined_case``) for the nightly scorer."""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
from pathlib import Path

import duckdb
import pandas as pd

from fleetloop.mining.clips import DEFAULT_PADDING_S, Padding
from fleetloop.mining.engine import conjunction, mine
from fleetloop.mining.language import FILTER_FIELDS, And, Expr, ForAtLeast, Not, Or, TagRef, Then, parse
from fleetloop.mining.queue import ACTIONS, MINED_TABLE, case_rows, enqueue, has_table
from fleetloop.mining.store import TagStore, read_tag_map, ubigint
from fleetloop.mining.tags import word_column
from fleetloop.paths import PartitionError, parse_partition
from fleetloop.runlock import holding
from fleetloop.warehouse import connect

WAREHOUSE_STORE = TagStore(table="dwd.dwd_second_tag", map_table="dwd.dim_tag", span_table="dwd.dim_tag_span",
                           run_table="dwd.dwd_tag_run")  # the tag store as the warehouse's dbt models build it
FORMATS = ("table", "csv", "parquet", "json")
OUTPUT_COLUMNS = ("vehicle_id", "site_id", "route_id", "version", "vehicle_class", "clip_start", "clip_end",
                  "seconds", "matched_s", "tags")
TABLE_HEADERS = ("vehicle", "site", "route", "version", "class", "start (UTC)", "end (UTC)", "seconds",
                 "matched s", "tags")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
LOCK_PURPOSE = "fleetloop mine --to-queue"
EPILOG = """examples:
  fleetloop mine 'night and rain and junction and pedestrian_near'
  fleetloop mine 'trigger_hard_brake then trigger_takeover within 3s' --site bj_yizhuang --from 2026-09-01
  fleetloop mine 'rain and night' --vehicle-class urban_delivery --from 2026-09-01 --to 2026-09-30 --limit 20
  fleetloop mine '(rain or fog) and crosswalk for at least 5s' --format parquet --out clips.parquet
  fleetloop mine 'night and rain and junction and pedestrian_near' --to-queue --action counterfactual
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("mine", help="find scenes by their per-second tags: the clips of a mining query",
                       epilog=EPILOG)
    p.add_argument("query", help="a mining query over tag names (docs/mining.md): and, or, not, parentheses, "
                                 "'A then B within Ns', 'A for at least Ns', 'where ...' filters")
    for field, column in FILTER_FIELDS.items():
        p.add_argument(f"--{field.replace('_', '-')}", dest=field, action="append", metavar=column.upper(),
                       help=f"only seconds with this {column} (repeatable: any of them; default: every {column})")
    p.add_argument("--from", dest="first_day", type=_day, metavar="DAY",
                   help="first UTC day looked at, YYYY-MM-DD (with --to: the last; alone: that day only; "
                        "default: every day)")
    p.add_argument("--to", dest="last_day", type=_day, metavar="DAY",
                   help="last UTC day looked at (needs --from; default: the --from day)")
    p.add_argument("--padding-s", type=int, default=DEFAULT_PADDING_S, metavar="N",
                   help="seconds of context kept before the first and after the last matching second of a clip")
    p.add_argument("--limit", type=int, metavar="N", help="at most N clips, by vehicle and start (default: all)")
    p.add_argument("--format", choices=FORMATS, default="table", help="output format (parquet needs --out)")
    p.add_argument("--out", type=Path, metavar="FILE", help="write the clips to FILE (default: standard output)")
    p.add_argument("--warehouse", type=Path, metavar="FILE",
                   help="DuckDB file holding the tag store (default: the published warehouse)")
    p.add_argument("--to-queue", action="store_true",
                   help=f"also queue the clips as mined cases ({MINED_TABLE} of the working warehouse) that the "
                        "nightly scorer replays; the same query queued again replaces its cases")
    p.add_argument("--action", choices=ACTIONS, default=ACTIONS[0],
                   help="what a queued clip asks for: a counterfactual replay or the raw sensor window")
    p.set_defaults(func=run)


def _day(text: str) -> dt.date:
    try:
        return parse_partition(text)
    except PartitionError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _value(text: str) -> str:
    if "'" in text:
        raise ValueError(f"a filter value cannot hold a quote: {text!r}")
    return f"'{text}'"


def option_filters(args: argparse.Namespace) -> list[str]:
    """The command's filter options as filters of the mining language."""
    if args.last_day and not args.first_day:
        raise ValueError("--to needs --from")
    out = [f"{field} in ({', '.join(_value(v) for v in getattr(args, field))})"
           for field in FILTER_FIELDS if getattr(args, field)]
    if args.first_day:
        out.append(f"days {args.first_day.isoformat()} to {(args.last_day or args.first_day).isoformat()}")
    return out


def query_text(text: str, filters: list[str], tags: dict) -> str:
    """``text`` with ``filters`` joined to its own ``where`` clause (or starting one)."""
    if not filters:
        return text
    own = parse(text, tags).filters
    joiner = " and " if own.values or own.first_day or own.last_day else " where "
    return text + joiner + " and ".join(filters)


def positive_tags(e: Expr) -> tuple[str, ...]:
    """The tags an expression asks to hold (not those under an odd number of ``not``), in order of appearance."""
    def walk(node: Expr, negated: bool):
        match node:
            case TagRef(name):
                if not negated:
                    yield name
            case Not(operand):
                yield from walk(operand, not negated)
            case And(operands) | Or(operands):
                for o in operands:
                    yield from walk(o, negated)
            case Then(first, second, _):
                yield from walk(first, negated)
                yield from walk(second, negated)
            case ForAtLeast(operand, _):
                yield from walk(operand, negated)
    return tuple(dict.fromkeys(walk(e, False)))


def find_clips(con: duckdb.DuckDBPyConnection, text: str, padding: Padding, filters: list[str] | tuple = (),
               store: TagStore = WAREHOUSE_STORE, limit: int | None = None) -> tuple[str, list[dict]]:
    """The query ``text`` with ``filters`` joined to it, and its clips (``OUTPUT_COLUMNS``; ``tags``: the query's
    tags that hold on a second of the clip)."""
    if not has_table(con, store.map_table):
        raise ValueError(f"no tag store ({store.map_table}) in this warehouse: build the scene models first")
    tag_map = read_tag_map(con, store)
    text = query_text(text, list(filters), tag_map)
    expr = parse(text, tag_map).expr
    rel = mine(con, text, store=store, padding=padding)
    if limit is not None:
        rel = rel.limit(limit)
    asked = positive_tags(expr)
    if conjunction(expr):  # every tag holds on every matching second
        rel = rel.query("clips", f"select *, '{' '.join(asked)}' as tags from clips order by vehicle_id, clip_start")
    else:
        held = ", ".join(f"case when bool_or(({word_column(tag_map[t][0])} & {ubigint(1 << tag_map[t][1])}) <> 0) "
                         f"then '{t}' end" for t in asked)
        rel = rel.query("clips", f"""
            select c.*, concat_ws(' ', {held or 'null'}) as tags
            from clips c join {store.table} s on s.vehicle_id = c.vehicle_id
              and s.ts_s between epoch(c.clip_start)::BIGINT and epoch(c.clip_end)::BIGINT
            group by all order by c.vehicle_id, c.clip_start""")
    names = [d[0] for d in rel.description]
    return text, [{c: row[names.index(c)] for c in OUTPUT_COLUMNS} for row in rel.fetchall()]


def _cell(column: str, value) -> str:
    if value is None:
        return ""
    if column in ("clip_start", "clip_end"):
        return value.astimezone(dt.UTC).strftime(TIME_FORMAT)
    return str(value)


def render_table(clips: list[dict]) -> str:
    """The clips as an aligned text table (times in UTC), numbers right-aligned."""
    cells = [list(TABLE_HEADERS)] + [[_cell(c, r[c]) for c in OUTPUT_COLUMNS] for r in clips]
    widths = [max(len(row[i]) for row in cells) for i in range(len(OUTPUT_COLUMNS))]
    right = [c in ("seconds", "matched_s") for c in OUTPUT_COLUMNS]
    lines = ["  ".join(v.rjust(w) if r else v.ljust(w) for v, w, r in zip(row, widths, right, strict=True)).rstrip()
             for row in cells]
    return "\n".join(lines + [f"{len(clips)} clips"]) + "\n"


def write_output(clips: list[dict], fmt: str, out: Path | None) -> str | None:
    """Write the clips to ``out`` in ``fmt``; without ``out`` return the text to print."""
    frame = pd.DataFrame(clips, columns=list(OUTPUT_COLUMNS))
    if fmt == "parquet":
        if out is None:
            raise ValueError("--format parquet needs --out FILE")
        out.parent.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(out, index=False)
        return None
    if fmt == "table":
        text = render_table(clips)
    elif fmt == "csv":
        buffer = io.StringIO()
        frame.to_csv(buffer, index=False)
        text = buffer.getvalue()
    else:
        text = json.dumps(clips, default=lambda v: v.astimezone(dt.UTC).isoformat(), indent=1) + "\n"
    if out is None:
        return text
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    return None


def _queue(args: argparse.Namespace, con: duckdb.DuckDBPyConnection, text: str, clips: list[dict]) -> str:
    written = enqueue(con, text, case_rows(clips, text, args.action))
    return f"queued {written} mined cases ({args.action}) in {MINED_TABLE} of {args.settings.warehouse}"


def run(args: argparse.Namespace) -> int:
    source = args.warehouse or args.settings.published
    if not Path(source).is_file():
        raise FileNotFoundError(f"no warehouse at {source}: run `fleetloop demo` or give --warehouse FILE")
    padding = Padding(args.padding_s, args.padding_s)
    filters = option_filters(args)
    working = args.settings.warehouse
    queued = None
    if args.to_queue and Path(source).resolve() == Path(working).resolve():
        with holding(working, None, purpose=LOCK_PURPOSE), connect(working, args.settings) as con:
            text, clips = find_clips(con, args.query, padding, filters, limit=args.limit)
            queued = _queue(args, con, text, clips)
    else:
        with connect(source, args.settings, read_only=True) as con:
            text, clips = find_clips(con, args.query, padding, filters, limit=args.limit)
        if args.to_queue:
            with holding(working, None, purpose=LOCK_PURPOSE), connect(working, args.settings) as con:
                queued = _queue(args, con, text, clips)
    printed = write_output(clips, args.format, args.out)
    if printed is not None:
        print(printed, end="")
    if queued:
        print(queued)
    return 0
