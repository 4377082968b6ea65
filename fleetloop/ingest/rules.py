"""Validation rules of the load, generated as SQL from the contract.

Each input format supplies, per contract field, three SQL expressions: ``present`` (a non-null value is
there), ``typed`` (the value coerced to the contract type, NULL when it cannot be) and ``shown`` (the raw
value as text for the reason message). From these, one ``CASE`` gives every row its first failing
reason code (brief section 2) and a readable reason, or NULL for a valid row.

Coercion is strict about JSON types: numbers for DOUBLE, strings for VARCHAR, true/false for BOOLEAN,
arrays of numbers only for DOUBLE[] (no strings or nulls inside, in JSON or Parquet), integers of any
width for BIGINT; id patterns mean what they mean in Python (white space includes Unicode spaces);
timestamps are ISO-8601 strings with a time of day (an offset is honoured, a lower-case T or Z accepted,
none means UTC; a date alone is no timestamp) or epoch numbers (seconds, milliseconds, microseconds or
nanoseconds, told apart by magnitude). Every coercion that can fail is a ``try_cast``: a poison value
quarantines its row, never the day. JSON is read strictly: a duplicate key or a trailing comma makes a line
malformed. Row checks in order: missing_field, non_finite (NaN, infinities), wrong_type, unknown_enum,
pattern_mismatch (ids), out_of_range (the contract's range; for a field with a km/h heuristic, the range
widened by the km/h factor), unit_error, order_violation (the contract's orderings), clock_skew.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from fleetloop.contract import Field, Source
from fleetloop.ingest.schema import q

# A row whose partition timestamp lies outside its partition day by more than this is clock_skew.
CLOCK_SKEW_TOLERANCE_S = 300
# Fields where a km/h value in a m/s field is a known failure (brief section 2): source -> field.
KMH_FIELDS = {"heartbeat": "speed_mps"}
# Spike rule for KMH_FIELDS against the same vehicle's neighbouring rows (within NEIGHBOUR_WINDOW_S):
# the value jumps by more than KMH_MIN_JUMP_MPS over its neighbours, and value / 3.6 agrees with them
# within max(KMH_AGREE_MPS, KMH_AGREE_SHARE x neighbour speed).
KMH_FACTOR = 3.6
KMH_MIN_JUMP_MPS = 5.0
KMH_AGREE_MPS = 1.5
KMH_AGREE_SHARE = 0.25
NEIGHBOUR_WINDOW_S = 5.0

_NUMERIC_JSON = "('BIGINT', 'UBIGINT', 'DOUBLE')"
_NUMERIC_DUCKDB = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                   "UBIGINT", "FLOAT", "DOUBLE")
_INTEGER_DUCKDB = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                   "UBIGINT")
_INTEGER_IN_BIGINT = ("TINYINT", "SMALLINT", "INTEGER", "UTINYINT", "USMALLINT", "UINTEGER")
_SHOWN_CHARS = 80
# A timestamp string starts with a date and a time of day (a date alone would silently mean midnight).
ISO_TIMESTAMP_START = r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}"
# A comma before a closing bracket outside strings (the cheap pattern screens, the exact one decides).
_TRAILING_COMMA_HINT = r",\s*[\]}]"
_TRAILING_COMMA = r'^(?:[^"]|"(?:[^"\\]|\\.)*")*?,\s*[\]}]'


@dataclass(frozen=True)
class FieldSql:
    """The SQL of one contract field in one input relation."""

    field: Field
    present: str
    typed: str
    shown: str
    exact: bool = False  # the conversion cannot fail for a present value (no wrong_type check needed)
    non_finite: str | None = None  # true when the raw value is a NaN or infinite number (None: cannot be)


def lit(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def epoch_to_ts(x: str) -> str:
    """Epoch number (s, ms, us or ns by magnitude) as TIMESTAMPTZ."""
    scale = (f"case when abs({x}) < 1e11 then 1e6 when abs({x}) < 1e14 then 1e3 "
             f"when abs({x}) < 1e17 then 1 else 1e-3 end")
    return f"make_timestamp(try_cast(round({x} * {scale}) as bigint))::timestamptz"


def json_field(f: Field, i: int) -> FieldSql:
    """Field ``f`` taken from ``_v[i]`` / ``_t[i]`` (json_extract_string / json_type of the line)."""
    v, t = f"_v[{i}]", f"_t[{i}]"
    number = f"try_cast({v} as double)"
    non_finite = f"coalesce({t} in {_NUMERIC_JSON} and not isfinite({number}), false)"
    match f.type:
        case "VARCHAR":
            typed = f"case when {t} = 'VARCHAR' then {v} end"
        case "DOUBLE":
            typed = f"case when {t} in {_NUMERIC_JSON} then try_cast({v} as double) end"
        case "BIGINT":
            typed = f"case when {t} in ('BIGINT', 'UBIGINT') then try_cast({v} as bigint) end"
        case "BOOLEAN":
            typed = f"case when {t} = 'BOOLEAN' then {v} = 'true' end"
        case "TIMESTAMPTZ":  # RFC 3339 allows a lower-case T and Z
            typed = (f"case when {t} = 'VARCHAR' and regexp_matches({v}, {lit(ISO_TIMESTAMP_START)}) "
                     f"then coalesce(try_cast({v} as timestamptz), try_cast(upper({v}) as timestamptz)) "
                     f"when {t} in {_NUMERIC_JSON} then {epoch_to_ts(number)} end")
        case "DOUBLE[]":  # every element a JSON number (no strings, booleans or nulls)
            typed = (f"case when {t} = 'ARRAY' and coalesce(list_bool_and(list_transform(json_type({v}, '$[*]'), "
                     f"lambda x: x in {_NUMERIC_JSON})), true) then try_cast({v} as double[]) end")
        case other:
            raise ValueError(f"no JSON coercion for contract type {other}")
    if f.type == "DOUBLE[]":
        non_finite = _list_non_finite(q(f.name))
    shown = f"case when {t} = 'VARCHAR' then '\"' || {v} || '\"' else {v} end"  # a string shows as one
    return FieldSql(f, f"coalesce({t} <> 'NULL', false)", typed, shown,
                    non_finite=non_finite if f.type in ("DOUBLE", "TIMESTAMPTZ", "DOUBLE[]") else None)


def _list_non_finite(typed: str) -> str:
    """A list holds a NaN (sorted greatest) or an infinity exactly when its maximum or minimum is not finite."""
    return f"coalesce(not isfinite(list_max({typed})) or not isfinite(list_min({typed})), false)"


def parquet_field(f: Field, actual_type: str | None) -> FieldSql:
    """Field ``f`` from a Parquet column of DuckDB type ``actual_type`` (None: column absent).

    The typed value is computed from the column itself; ``present`` and ``shown`` refer to the raw value
    kept as ``raw_name(f.name)``. Lossless conversions are applied (any timestamp flavour, integers or
    floats to DOUBLE, epoch numbers to timestamps); any other type mismatch is a wrong_type.
    """
    if actual_type is None:
        return FieldSql(f, "false", f"null::{f.type}", "null", exact=True)
    col, raw = q(f.name), q(raw_name(f.name))
    numeric = actual_type in _NUMERIC_DUCKDB or actual_type.startswith("DECIMAL")
    exact, non_finite = True, None
    if f.type == "DOUBLE[]" and actual_type.endswith("[]"):  # a null element is no score
        typed, exact = f"case when list_count({col}) = len({col}) then try_cast({col} as double[]) end", False
    elif actual_type == f.type:
        typed = col
    elif f.type == "TIMESTAMPTZ" and actual_type.startswith("TIMESTAMP"):
        typed = f"cast({col} as timestamptz)"
    elif f.type == "TIMESTAMPTZ" and numeric:
        typed, exact = epoch_to_ts(f"cast({col} as double)"), False
        non_finite = f"coalesce(not isfinite(cast({raw} as double)), false)"
    elif f.type == "DOUBLE" and numeric:
        typed = f"cast({col} as double)"
    elif f.type == "BIGINT" and actual_type in _INTEGER_DUCKDB:
        typed, exact = f"try_cast({col} as bigint)", actual_type in _INTEGER_IN_BIGINT
    else:
        typed, exact = f"null::{f.type}", False
    if f.type == "DOUBLE":
        non_finite = f"coalesce(not isfinite({q(f.name)}), false)"
    elif f.type == "DOUBLE[]":
        non_finite = _list_non_finite(q(f.name))
    return FieldSql(f, f"{raw} is not null", typed, f"cast({raw} as varchar)", exact, non_finite)


def raw_name(name: str) -> str:
    """Name under which a Parquet column's raw value travels next to its typed value."""
    return f"_raw_{name}"


def _shown(expr: str) -> str:
    return f"left(coalesce({expr}, 'null'), {_SHOWN_CHARS})"


def _fmt(x: float) -> str:
    return repr(float(x))


def day_bounds(day: dt.date) -> tuple[str, str]:
    """SQL TIMESTAMPTZ literals of the day's start and end, widened by the clock-skew tolerance."""
    start = dt.datetime.combine(day, dt.time(), dt.UTC) - dt.timedelta(seconds=CLOCK_SKEW_TOLERANCE_S)
    end = start + dt.timedelta(days=1, seconds=2 * CLOCK_SKEW_TOLERANCE_S)
    return f"timestamptz '{start.isoformat()}'", f"timestamptz '{end.isoformat()}'"


def row_checks(src: Source, fields: list[FieldSql], day: dt.date) -> list[tuple[str, str, str]]:
    """(condition, reason_code, reason expression) in order of precedence; the first true one wins.

    Assumes the typed value of each field is available as its quoted name. Conditions never evaluate to
    NULL (a NULL in a nullable field passes), so that they can be OR-ed into one ``ok`` flag.
    """
    checks: list[tuple[str, str, str]] = []

    def add(condition: str, code: str, reason: str) -> None:
        checks.append((f"coalesce({condition}, false)", code, reason))

    def value(f: Field) -> str:
        return f"{lit(f'field {f.name!r} = ')} || {_shown(f'cast({q(f.name)} as varchar)')}"

    for fs in fields:
        if not fs.field.nullable:
            checks.append((f"not ({fs.present})", "missing_field",
                           lit(f"required field {fs.field.name!r} is missing or null")))
    for fs in fields:
        if fs.non_finite:
            checks.append((fs.non_finite, "non_finite",
                           f"{lit(f'field {fs.field.name!r} is not a finite number: ')} || {_shown(fs.shown)}"))
    for fs in fields:
        if not fs.exact:
            checks.append((f"({fs.present}) and {q(fs.field.name)} is null", "wrong_type",
                           f"{lit(f'field {fs.field.name!r} is not a {fs.field.type}: ')} || {_shown(fs.shown)}"))
    for fs in fields:
        f, col = fs.field, q(fs.field.name)
        if f.allowed:
            allowed = ", ".join(lit(a) for a in f.allowed)
            add(f"{col} not in ({allowed})", "unknown_enum",
                f"{lit(f'field {f.name!r} value ')} || {_shown(col)} || "
                f"{lit(' is not one of ' + ', '.join(f.allowed))}")
        if f.pattern:
            add(f"not regexp_full_match({col}, {lit(re2_pattern(f.pattern))})", "pattern_mismatch",
                f"{lit(f'field {f.name!r} value ')} || {_shown(_quoted(col))} || "
                f"{lit(f' does not match {f.pattern}')}")
    kmh = KMH_FIELDS.get(src.name)
    for fs in fields:
        f, col = fs.field, q(fs.field.name)
        if f.minimum is None and f.maximum is None:
            continue
        # the range a value may have at all; a km/h heuristic field may hold up to its maximum as km/h
        top = f.maximum * KMH_FACTOR if f.name == kmh and f.maximum is not None else f.maximum
        low, high = (f"list_min({col})", f"list_max({col})") if f.type == "DOUBLE[]" else (col, col)
        parts = ([f"{low} < {_fmt(f.minimum)}"] if f.minimum is not None else []) + \
                ([f"{high} > {_fmt(top)}"] if top is not None else [])
        add(" or ".join(parts), "out_of_range",
            f"{value(f)} || {lit(f' outside [{f.minimum}, {top}] {f.unit}'.rstrip())}")
        if top != f.maximum:
            add(f"{col} > {_fmt(f.maximum)}", "unit_error",
                f"{value(f)} || {lit(f' exceeds {f.maximum} {f.unit}: a km/h value in a m/s field')}")
    for earlier, later in src.orderings:
        add(f"{q(later)} < {q(earlier)}", "order_violation",
            f"{lit(f'{later} ')} || {_stamp(q(later))} || {lit(f' is before {earlier} ')} || {_stamp(q(earlier))}")
    start, end = day_bounds(day)
    ts = q(src.partition_ts)
    checks.append((f"coalesce({ts} < {start} or {ts} >= {end}, false)", "clock_skew",
                   f"{lit(f'{src.partition_ts} ')} || {_stamp(ts)} || "
                   f"{lit(f' is outside partition day {day.isoformat()} (tolerance {CLOCK_SKEW_TOLERANCE_S} s)')}"))
    return checks


def re2_pattern(pattern: str) -> str:
    """A contract pattern (Python ``re`` syntax) for DuckDB's RE2, where ``\\s`` is ASCII white space only:
    ``\\s`` also matches Unicode white space (no-break and ideographic spaces, line separators), as in Python."""
    unicode_space = r"\s\x{85}\p{Z}"
    out, in_class, i = [], False, 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            pair = pattern[i:i + 2]
            out.append((unicode_space if in_class else f"[{unicode_space}]") if pair == r"\s" else pair)
            i += 2
            continue
        in_class = (in_class and c != "]") or (not in_class and c == "[")
        out.append(c)
        i += 1
    return "".join(out)


def _stamp(col: str) -> str:
    return f"coalesce(strftime({col}, '%Y-%m-%dT%H:%M:%S.%fZ'), 'null')"


def _quoted(col: str) -> str:
    """A text value in double quotes, so that white space around it shows."""
    return f"'\"' || {col} || '\"'"


def classify_sql(checks: list[tuple[str, str, str]]) -> tuple[str, str, str]:
    """``(ok, reason_code, reason)`` expressions of a list of checks.

    ``ok`` is one cheap vectorised boolean (no check fires); the CASE expressions, slow with many
    branches, are only evaluated for rows that are not ok.
    """
    ok = "not (" + " or ".join(f"({c})" for c, _, _ in checks) + ")"
    code = "case " + " ".join(f"when {c} then {lit(rc)}" for c, rc, _ in checks) + " end"
    reason = "case " + " ".join(f"when {c} then {r}" for c, _, r in checks) + " end"
    return ok, f"case when _ok then null else {code} end", f"case when _ok then null else {reason} end"


JSON_SHAPE_CHECKS: list[tuple[str, str, str]] = [
    ("_bad_encoding", "malformed_json", lit("line is not valid UTF-8")),
    # valid JSON is never blank: only invalid lines pay for trimming the whole line
    ("case when _valid then false else trim(_raw_text, ' \t') = '' end", "malformed_json", lit("empty line")),
    ("not _valid", "malformed_json", lit("line is not valid JSON")),
    ("left(ltrim(_raw_text), 1) <> '{'", "malformed_json",
     f"{lit('line is a JSON ')} || json_type(_raw_text) || {lit(', not an object')}"),
    ("_duplicate_key", "malformed_json", lit("object has a duplicate key")),
    ("_trailing_comma", "malformed_json", lit("trailing comma before a closing bracket")),
]


def json_shape_columns(src: Source) -> dict[str, str]:
    """Columns the JSON shape checks read, computed from ``_raw_text`` and ``_valid`` (never NULL).

    A line whose keys are the contract's fields in contract order (what a source's writer emits) has no
    duplicate key; only other lines pay for the distinct count of their keys.
    """
    keys = "[" + ", ".join(lit(f.name) for f in src.fields) + "]::varchar[]"
    return {
        "_duplicate_key": f"case when not _valid or json_keys(_raw_text) = {keys} then false "
                          "else len(json_keys(_raw_text)) <> len(list_distinct(json_keys(_raw_text))) end",
        "_trailing_comma": (f"case when _valid and regexp_matches(_raw_text, {lit(_TRAILING_COMMA_HINT)}) "
                            f"then regexp_matches(_raw_text, {lit(_TRAILING_COMMA)}) else false end"),
    }


def kmh_spike_sql(src: Source, relation: str) -> str | None:
    """Rows of ``relation`` (valid, de-duplicated) whose KMH field is a km/h spike among its neighbours.

    ``relation`` carries ``_row_json`` (raw values of Parquet rows, else NULL), passed through. Returns
    ``(_source_file, _line_number, _row_json, _reason)`` rows, or None when the source has no such field.
    """
    name = KMH_FIELDS.get(src.name)
    if name is None:
        return None
    v, ts = q(name), q(src.partition_ts)
    near = f"abs(epoch({{n}}_ts) - epoch({ts})) <= {_fmt(NEIGHBOUR_WINDOW_S)}"
    return f"""
with neighbours as (
    select _source_file, _line_number, _row_json, {v} as v,
           lag({v}) over w as prev_v, lag({ts}) over w as prev_ts,
           lead({v}) over w as next_v, lead({ts}) over w as next_ts, {ts}
    from {relation}
    window w as (partition by vehicle_id order by {ts}, _source_file, _line_number)
),
reference as (
    select *,
           case when prev_ts is not null and {near.format(n='prev')} then prev_v end as p,
           case when next_ts is not null and {near.format(n='next')} then next_v end as n
    from neighbours
),
scored as (
    select *, (coalesce(p, n) + coalesce(n, p)) / 2 as ref, greatest(coalesce(p, n), coalesce(n, p)) as top
    from reference
)
select _source_file, _line_number, _row_json,
       {lit(f'field {name!r} = ')} || round(v, 3) || {lit(' jumps from neighbours near ')} || round(ref, 3)
       || {lit(f' m/s but matches them as km/h (/{KMH_FACTOR})')} as _reason
from scored
where ref is not null
  and v - top > {_fmt(KMH_MIN_JUMP_MPS)}
  and abs(v / {KMH_FACTOR} - ref) <= greatest({_fmt(KMH_AGREE_MPS)}, {_fmt(KMH_AGREE_SHARE)} * ref)
"""
