"""The mining language: parser cases and errors, hand-computed temporal cases, and the SQL on the bitmap and on the
runs equal to the plain-loop reference on random tables, expressions, filters and paddings."""

import datetime as dt
import random
from pathlib import Path

import pandas as pd
import pytest

from fleetloop.mining import reference
from fleetloop.mining.clips import CLIP_COLUMNS, Padding
from fleetloop.mining.engine import compile_query, conjunction, mine
from fleetloop.mining.features import FILTER_COLUMNS
from fleetloop.mining.language import And, ForAtLeast, MiningQueryError, Not, Or, TagRef, Then, parse
from fleetloop.mining.store import DEFAULT_STORE, SPAN_BLOCK_S, build_runs, read_tag_map, write_tag_map
from fleetloop.mining.tags import load_tags, tags_from_rows, word_column, word_count
from fleetloop.warehouse import connect

DAY0_S = int(dt.datetime(2026, 9, 1, tzinfo=dt.UTC).timestamp())
# 70 tags: the bitmap spans two words, bit 63 of w0 included
TAGS = tags_from_rows([{"tag": f"t{i}", "family": "ego", "rule": "true", "description": ""} for i in range(70)])
NAMES = [t.name for t in TAGS]


@pytest.fixture
def con(tmp_path):
    c = connect(tmp_path / "mine.duckdb")
    yield c
    c.close()


def _store(con, rows):
    """Write per-second rows (with their tag sets) as a bitmap store, words computed in Python."""
    write_tag_map(con, TAGS, DEFAULT_STORE)
    by_name = {t.name: t for t in TAGS}
    records = []
    for r in rows:
        words = [0] * word_count(TAGS)
        for name in r["tags"]:
            words[by_name[name].word] |= by_name[name].mask
        records.append({k: r[k] for k in ("vehicle_id", "ts_s") + FILTER_COLUMNS}
                       | {word_column(w): v for w, v in enumerate(words)})
    frame = pd.DataFrame(records)  # noqa: F841 (read by DuckDB)
    casts = ", ".join(f"{word_column(w)}::UBIGINT as {word_column(w)}" for w in range(word_count(TAGS)))
    con.execute(f"create or replace table {DEFAULT_STORE.table} as select * exclude "
                f"({', '.join(word_column(w) for w in range(word_count(TAGS)))}), {casts} from frame")
    build_runs(con)


def _row(vehicle, ts_s, *tags, site="s1"):
    return {"vehicle_id": vehicle, "ts_s": ts_s, "site_id": site, "route_id": f"{site}-r1", "version": "v1",
            "vehicle_class": "urban_delivery", "tags": set(tags)}


NO_PADDING = Padding(0, 0)


def _clips(con, text, padding=NO_PADDING):
    rows = mine(con, text, padding=padding).fetchall()
    return [(v, int(s.timestamp()) - DAY0_S, int(e.timestamp()) - DAY0_S, seconds, matched)
            for v, s, e, seconds, matched, *_ in rows]


def test_precedence():
    q = parse("t1 and not t2 or t3 then t4 for at least 5s within 3s", NAMES)
    assert q.expr == Then(Or((And((TagRef("t1"), Not(TagRef("t2")))), TagRef("t3"))),
                          ForAtLeast(TagRef("t4"), 5), 3)
    assert parse("(t1 then t2 within 2 s) and t3", NAMES).expr == And((Then(TagRef("t1"), TagRef("t2"), 2),
                                                                         TagRef("t3")))


def test_filters_parse():
    q = parse("t1 where site in (bj_yizhuang, 'sz nanshan') and version = v3.3.0 and days 2026-09-01 to 2026-09-02",
              NAMES)
    assert q.filters.values == {"site_id": ("bj_yizhuang", "sz nanshan"), "version": ("v3.3.0",)}
    assert (q.filters.first_day, q.filters.last_day) == (dt.date(2026, 9, 1), dt.date(2026, 9, 2))


@pytest.mark.parametrize(("text", "message", "position"), [
    ("t1 and pedestrain_near", "unknown tag 'pedestrain_near'; close names: pedestrian_near", 7),
    ("t1 and", "expected a tag", 6),
    ("t1 then t2", "expected 'within'", 10),
    ("t1 for at least soon", "expected a duration", 16),
    ("(t1 or t2", r"expected '\)'", 9),
    ("t1 where colour = red", "expected a filter", 9),
    ("t1 where days 2026-09-03 to 2026-09-01", "before the first", 9),
    ("t1 t2", "unexpected 't2'", 3),
])
def test_errors_say_what_and_where(text, message, position):
    with pytest.raises(MiningQueryError, match=message) as err:
        parse(text, NAMES + ["pedestrian_near", "pedestrian_present"])
    assert err.value.position == position


def test_then_within_hand_computed(con):
    # t1 at 10 and 20; t2 at 12, 13, 14 and 24: 12 and 13 follow t1 within 3 s, 14 is 4 s late, 24 too
    rows = [_row("a", DAY0_S + s, *(["t1"] if s in (10, 20) else []), *(["t2"] if s in (12, 13, 14, 24) else []))
            for s in range(30)]
    _store(con, rows)
    assert _clips(con, "t1 then t2 within 3s") == [("a", 12, 13, 2, 2)]
    assert _clips(con, "t1 then t2 within 4s") == [("a", 12, 14, 3, 3), ("a", 24, 24, 1, 1)]
    assert _clips(con, "t1 then t2 within 3s", Padding(5, 1)) == [("a", 7, 14, 8, 2)]


def test_for_at_least_hand_computed(con):
    # t1 on 0-4 (5 s), 6-7 (2 s), 9-14 but second 12 missing from the log (runs 9-11 and 13-14)
    rows = [_row("a", DAY0_S + s, *(["t1"] if s in (0, 1, 2, 3, 4, 6, 7, 9, 10, 11, 13, 14) else []))
            for s in range(20) if s != 12]
    _store(con, rows)
    assert _clips(con, "t1 for at least 5s") == [("a", 0, 4, 5, 5)]
    assert _clips(con, "t1 for at least 3s") == [("a", 0, 4, 5, 5), ("a", 9, 11, 3, 3)]
    # padding 1 + 1: seconds 6 and 9 are 3 apart, so their padded spans touch and merge; 2..3 s runs
    assert _clips(con, "t1 for at least 2s", Padding(1, 1)) == [("a", -1, 15, 17, 12)]


def test_day_and_site_filters(con):
    rows = [_row("a", DAY0_S + 86_400 - 1, "t1"), _row("a", DAY0_S + 86_400, "t1"),
            _row("b", DAY0_S + 5, "t1", site="s2")]
    _store(con, rows)
    assert _clips(con, "t1 where days 2026-09-02") == [("a", 86_400, 86_400, 1, 1)]
    assert _clips(con, "t1 where site = s2") == [("b", 5, 5, 1, 1)]
    assert [c[0] for c in _clips(con, "t1 where days 2026-09-01 to 2026-09-02 and site in (s1, s2)")] == \
        ["a", "b"]


def _random_expr(rng, vocabulary, depth):
    if depth == 0 or rng.random() < 0.25:
        return rng.choice(vocabulary)
    kind = rng.choice(("and", "or", "not", "then", "for"))
    a, b = _random_expr(rng, vocabulary, depth - 1), _random_expr(rng, vocabulary, depth - 1)
    return {"and": f"({a} and {b})", "or": f"({a} or {b})", "not": f"(not {a})",
            "then": f"({a} then {b} within {rng.randint(1, 4)}s)",
            "for": f"({a} for at least {rng.randint(1, 4)}s)"}[kind]


def _random_table(rng, vocabulary):
    rows = []
    for vehicle in ("a", "b", "c"):
        ts = DAY0_S + 86_400 - rng.randint(0, 40)  # some vehicles straddle a UTC midnight
        for _ in range(rng.randint(20, 80)):
            ts += 1 if rng.random() < 0.9 else rng.randint(2, 5)  # gaps in the log
            tags = {n for n in vocabulary if rng.random() < 0.45}
            rows.append(_row(vehicle, ts, *tags, site=rng.choice(("s1", "s2"))))
    return rows


def test_sql_equals_the_reference_on_random_queries(con):
    rng = random.Random(5)
    for case in range(40):
        vocabulary = rng.sample(NAMES, 4) + ["t63", "t64"]  # both sides of the word boundary
        rows = _random_table(rng, vocabulary)
        _store(con, rows)
        text = _random_expr(rng, vocabulary, 3)
        if case % 3 == 0:
            text += rng.choice((" where site = s1", " where days 2026-09-02", " where site in (s1, s2) and days "
                                "2026-09-01 to 2026-09-01"))
        padding = Padding(rng.randint(0, 2), rng.randint(0, 2))
        got = [dict(zip(CLIP_COLUMNS, r, strict=True)) for r in mine(con, text, padding=padding).fetchall()]
        got = [r | {"clip_start_s": int(r.pop("clip_start").timestamp()), "clip_end_s": int(r.pop("clip_end")
                                                                                           .timestamp())} for r in got]
        expected = reference.clips(parse(text, NAMES), rows, padding)
        assert got == expected, text


def _as_reference(rows):
    """Clip rows of the engine in the reference's shape."""
    out = [dict(zip(CLIP_COLUMNS, r, strict=True)) for r in rows]
    return [r | {"clip_start_s": int(r.pop("clip_start").timestamp()),
                 "clip_end_s": int(r.pop("clip_end").timestamp())} for r in out]


def test_conjunctions_on_the_runs_equal_the_reference_and_the_bitmap(con):
    rng = random.Random(23)
    for case in range(30):
        vocabulary = rng.sample(NAMES, 3) + ["t63", "t64"]
        rows = _random_table(rng, vocabulary)
        if case % 2:  # a route change in mid-drive splits a span; the clips run across it
            rows = [r | {"route_id": "s1-r2"} if r["ts_s"] % 7 < 3 else r for r in rows]
        _store(con, rows)
        text = " and ".join(rng.sample(vocabulary, rng.randint(1, 3)))
        text += rng.choice(("", " where site = s1", " where days 2026-09-02", " where route = s1-r2 and days "
                            "2026-09-01 to 2026-09-01"))
        query = parse(text, NAMES)
        assert conjunction(query.expr)
        padding = Padding(rng.randint(0, 3), rng.randint(0, 3))
        got = _as_reference(mine(con, text, padding=padding).fetchall())
        assert got == reference.clips(query, rows, padding), text
        on_bitmap = con.execute(*compile_query(query, read_tag_map(con), padding=padding)).fetchall()
        assert got == _as_reference(on_bitmap), text


def test_runs_are_maximal_and_within_spans(con):
    # t1 on 0-3 and 5-6 of vehicle a; a route change at second 2 and a log gap at second 8; vehicle b: t1 on
    # 598-601, across a span block
    rows = [_row("a", DAY0_S + s, *(["t1"] if s in (0, 1, 2, 3, 5, 6) else []))
            | ({"route_id": "s1-r9"} if s >= 2 else {}) for s in range(10) if s != 8]
    assert SPAN_BLOCK_S == 600
    _store(con, rows + [_row("b", DAY0_S + s, "t1") for s in range(598, 602)])
    spans = con.execute("select span_id, vehicle_no, route_id, start_s - ?, end_s - ? from dim_tag_span "
                        "order by span_id", [DAY0_S, DAY0_S]).fetchall()
    assert spans == [(1, 1, "s1-r1", 0, 1), (2, 1, "s1-r9", 2, 7), (3, 1, "s1-r9", 9, 9),
                     (4, 2, "s1-r1", 598, 599), (5, 2, "s1-r1", 600, 601)]
    runs = con.execute("select tag_id, span_id, start_s - ?, end_s - ? from dwd_tag_run order by all",
                       [DAY0_S, DAY0_S]).fetchall()
    assert runs == [(1, 1, 0, 1), (1, 2, 2, 3), (1, 2, 5, 6), (1, 4, 598, 599), (1, 5, 600, 601)]
    assert _clips(con, "t1 where days 2026-09-01") == [("a", 0, 3, 4, 4), ("a", 5, 6, 2, 2), ("b", 598, 601, 4, 4)]


def test_the_examples_of_the_docs_parse_with_the_seed_tags():
    text = (Path(__file__).resolve().parents[1] / "docs" / "mining.md").read_text(encoding="utf-8")
    examples = text.split("## The mining language")[1].split("```")[1].strip().splitlines()
    names = [t.name for t in load_tags()]
    assert len(examples) == 3
    for example in examples:
        parse(example, names)
