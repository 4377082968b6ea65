"""The HTML report on a real published warehouse: the session's dbt-built fleet, the nightly scorer run on it, a
real publication, then the Dagster report asset. The page is offline (inline SVG, no script, no network), its
numbers carry thousands separators and equal the warehouse's SQL values, axes are readable (autonomy zoomed,
UTC clock times on speed plots), marks have tooltips, and case cards say in plain words what happened and what
the scorer found, with time markers in the bird's-eye view."""

from __future__ import annotations

import datetime as dt
import re
from html import escape
from html.parser import HTMLParser
from itertools import pairwise
from types import SimpleNamespace

import dagster as dg
import pytest

from dagster_pipelines.partitions import daily_partitions
from dagster_pipelines.publish.assets import PUBLISHED_KEY
from dagster_pipelines.report import REPORT_KEY, build_report_asset
from dagster_pipelines.resources import WarehouseResource
from fleetloop.publish import publish
from fleetloop.report.charts import share_dots, zoomed_domain
from fleetloop.report.vega import to_svg
from fleetloop.scorer.nightly import NightlyConfig, run_nightly, write_tables
from fleetloop.settings import Settings
from fleetloop.warehouse import connect
from tests.fixtures.warehouse import copy_warehouse

TOP_K = 6  # cases scored per day: enough for improved cases, quick
CLOCK = re.compile(r"^\d\d:\d\d:\d\d$")
STORY = re.compile(r"Vehicle (\S+) (.+?) at (\d\d:\d\d:\d\d) UTC on (\d{4}-\d\d-\d\d) at ([\d.]+) m/s; "
                   r"the scorer found (.+): PDMS ([\d.]+) → ([\d.]+)\.")


def _num(v: float) -> str:
    """The page's convention, written out: thousands separators from 1,000, else 3 significant digits."""
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}"


@pytest.fixture(scope="module")
def report(dbt_warehouse, tmp_path_factory):
    settings = Settings.for_home(tmp_path_factory.mktemp("report_home"))
    copy_warehouse(dbt_warehouse, settings.warehouse.parent)
    con = connect(settings.warehouse, settings)
    try:
        days = [r[0] for r in con.execute("select distinct dt from ads.ads_case_queue order by dt").fetchall()]
        for day in days:
            write_tables(con, day, run_nightly(con, day, settings.packages, NightlyConfig(top_k=TOP_K, seed=3)))
        assert con.execute("select count(*) from scorer.solutions where status = 'improved'").fetchone()[0] > 0
    finally:
        con.close()
    publish(settings, run_id="report-test-run")
    asset = build_report_asset(daily_partitions(settings.replace(start_date=days[0])))
    result = dg.materialize([asset], partition_key=days[-1].isoformat(),
                            resources={"warehouse": WarehouseResource.from_settings(settings)})
    assert result.success
    path = settings.reports / "fleetloop_report.html"
    return SimpleNamespace(settings=settings, asset=asset, result=result, path=path, html=path.read_text())


def _published(report):
    return connect(report.settings.published, report.settings, read_only=True)


class _Text(HTMLParser):
    """Visible text of a page (SVG text and tooltips included), without the style sheet."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag == "style"

    def handle_endtag(self, tag):
        self._skip -= tag == "style"

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def _visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return "\n".join(parser.parts)


def _cards(html: str) -> list[str]:
    return re.findall(r'<div class="case">.*?</p></div>', html, re.S)


def _svgs(html: str) -> list[str]:
    return re.findall(r"<svg.*?</svg>", html, re.S)


def test_report_is_an_asset_after_the_publication(report):
    assert report.asset.key == REPORT_KEY == dg.AssetKey(["report", "fleetloop_report"])
    assert report.asset.asset_deps[REPORT_KEY] == {PUBLISHED_KEY}
    assert report.asset.partitions_def is not None
    mat = report.result.asset_materializations_for_node(report.asset.node_def.name)[0]
    assert mat.metadata["path"].value == str(report.path)
    assert mat.metadata["bytes"].value == report.path.stat().st_size > 0


def test_page_is_self_contained(report):
    html = report.html
    assert "<script" not in html and "<link" not in html and "@import" not in html
    assert not re.search(r"""(src|href)\s*=\s*["']?https?://""", html)
    assert not re.search(r"url\(\s*['\"]?https?://", html)
    assert not re.search(r"<(img|canvas|iframe|object|embed)\b", html)


def test_every_chart_is_inline_svg(report):
    figures = re.findall(r'<figure class="chart">(.*?)</figure>', report.html, re.S)
    cards = _cards(report.html)
    # 3 rate trends, 2 autonomy plots, 1 version panel, 1 stuck-minutes plot, one speed plot per case
    assert len(figures) == 7 + len(cards) and len(cards) > 0
    assert all(f.startswith("<svg") and f.count("<svg") == 1 for f in figures)
    assert all(c.count("<svg") == 2 for c in cards)  # bird's-eye view and speed plot
    assert len(_svgs(report.html)) == len(figures) + len(cards)


def test_numbers_of_a_thousand_or_more_carry_separators(report):
    tokens = [t.strip(".,;%") for t in re.split(r"[\s()\[\]=:/→]+", _visible_text(report.html))]
    numbers = [t for t in tokens if re.fullmatch(r"-?\d[\d,]*(\.\d+)?", t)]
    big = [t for t in numbers if abs(float(t.replace(",", ""))) >= 1000]
    assert big, "the test fleet has counts above 1,000"
    assert all(re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", t) for t in big), [t for t in big if "," not in t]


def test_kpis_and_tables_equal_the_warehouse(report):
    with _published(report) as con:
        km, n_mps = con.execute("select km_total, n_mps from ads.ads_fleet_overview_1d order by dt desc limit 1"
                                ).fetchone()
        read = con.execute("select sum(rows_read) from quality.reconciliation group by dt order by dt").fetchall()
    assert f'<div class="k">km driven</div><div class="v">{_num(km)}</div>' in report.html
    assert f"n = {n_mps:,}" in report.html
    for (rows_read,) in read:
        assert f"<td>{rows_read:,}</td>" in report.html


def test_trend_points_have_tooltips_with_their_interval(report):
    with _published(report) as con:
        days = con.execute("select dt, mps_per_10k_km, mps_ci_low, mps_ci_high, n_mps, km_total "
                           "from ads.ads_fleet_overview_1d order by dt").fetchall()
    titles = re.findall(r"<title>([^<]*)</title>", report.html)
    for day, rate, lo, hi, n, km in days:
        want = f"{day} MPS: {_num(rate)} per 10k km, 95% CI [{_num(lo)}, {_num(hi)}], n = {n:,} in {_num(km)} km"
        assert want in titles


def _axis_range(svg: str, title: str) -> tuple[str, str]:
    m = re.search(rf"axis titled '{re.escape(title)}' for a \w+ scale with values from ([^ ]+) to ([^\"]+)\"", svg)
    assert m, title
    return m.group(1), m.group(2)


def test_autonomy_axis_is_zoomed_to_the_data(report):
    with _published(report) as con:
        lo, hi = con.execute("select min(r), max(r) from (select sum(autonomy_rate_time * operating_h) / "
                             "sum(operating_h) as r from ads.ads_site_health_1d group by site_id)").fetchone()
    svg = next(s for s in _svgs(report.html) if "by site" in s)
    first, last = (float(v.rstrip("%")) / 100 for v in _axis_range(svg, "auto time / operating time"))
    assert (first, last) != (0.0, 1.0) and first > 0.5
    assert first <= lo + 0.01 and hi - 0.01 <= last  # the ticks span the data (to a tick step)
    # data in [0.8, 0.9]: a zoomed domain, not [0, 1]
    assert zoomed_domain([0.8, 0.85, 0.9]) == pytest.approx([0.79, 0.91])
    chart = share_dots([("a", 0.8, "a"), ("b", 0.9, "b")], "zoom", "share")
    assert _axis_range(to_svg(chart), "share") == ("79%", "91%")
    assert zoomed_domain([0.995, 1.0]) == pytest.approx([0.98, 1.0])


def _case(con, card: str) -> dict:
    case_id = re.search(r"<h3>#\d+ (case_\w+)</h3>", card).group(1)
    cur = con.execute(
        """select s.case_id, s.vehicle_id, s.log_pdms, s.sol_pdms, s.resolved_by, e.trigger, e.tier, e.ts_start,
                  e.ts_end
           from scorer.solutions s, (select case_id, unnest(event_ids) as event_id from dwd.dwd_case) c,
                dwd.dwd_event e
           where s.case_id = ? and c.case_id = s.case_id and e.event_id = c.event_id
             and e.trigger = s.resolved_trigger
           order by e.ts_start limit 1""", [case_id])
    return dict(zip([d[0] for d in cur.description], cur.fetchone(), strict=True))


def test_case_cards_say_who_did_what_when_and_what_the_scorer_found(report):
    cards = _cards(report.html)
    with _published(report) as con:
        top = [r[0] for r in con.execute(
            "select case_id from scorer.solutions where status = 'improved' "
            "order by improvement desc, queue_rank, case_id limit ?", [len(cards)]).fetchall()]
        cases = [_case(con, card) for card in cards]
    assert [c["case_id"] for c in cases] == top
    with connect(report.settings.warehouse, report.settings, read_only=True) as work:
        for card, case in zip(cards, cases, strict=True):
            story = STORY.search(card)
            assert story, card[:400]
            vehicle, did, clock, day, speed, found, log_pdms, sol_pdms = story.groups()
            ts = case["ts_start"].astimezone(dt.UTC)
            assert vehicle == case["vehicle_id"]
            assert (clock, day) == (ts.strftime("%H:%M:%S"), ts.strftime("%Y-%m-%d"))
            assert (log_pdms, sol_pdms) == (f"{case['log_pdms']:.2f}", f"{case['sol_pdms']:.2f}")
            if case["trigger"] == "hard_brake":
                assert did == f"braked hard ({case['tier']})" and found == "a smoother stop"
            logged = work.execute("select speed_mps from ods.ods_pose where vehicle_id = ? "
                                  "order by abs(epoch(ts) - epoch(?::timestamptz)) limit 1",
                                  [case["vehicle_id"], case["ts_start"]]).fetchone()[0]
            assert float(speed) == pytest.approx(logged, abs=0.06)


def test_speed_plots_are_labelled_in_utc_clock_time(report):
    with _published(report) as con:
        cases = [_case(con, card) for card in _cards(report.html)]
    speed_svgs = [s for s in _svgs(report.html) if "speed [m/s]" in s]
    assert len(speed_svgs) == len(cases)
    for svg, case in zip(speed_svgs, cases, strict=True):
        axis = svg[svg.index("X-axis titled 'UTC'"):]
        labels = [t for t in re.findall(r"<text[^>]*>([^<]*)</text>", axis) if CLOCK.match(t)]
        assert len(labels) >= 3
        times = [dt.datetime.combine(case["ts_start"].astimezone(dt.UTC).date(),
                                     dt.time.fromisoformat(t), dt.UTC) for t in labels]
        assert all(b - a == dt.timedelta(seconds=2) for a, b in pairwise(times))
        assert times[0] - dt.timedelta(seconds=2) <= case["ts_start"] <= times[-1]
        tier = f" ({case['tier']})" if case["tier"] else ""
        assert f"{case['trigger']}{tier} {case['ts_start'].astimezone(dt.UTC):%H:%M:%S}" in svg  # the band's tooltip


def test_birds_eye_views_mark_the_trigger_and_every_two_seconds(report):
    cards = _cards(report.html)
    with _published(report) as con:
        cases = [_case(con, card) for card in cards]
    for card, case in zip(cards, cases, strict=True):
        bev = _svgs(card)[0]
        assert escape("bird's-eye view") in bev
        ticks = re.findall(r"<title>logged ego at (\d\d:\d\d:\d\d) UTC: [\d.]+ m/s</title>", bev)
        seconds = [dt.time.fromisoformat(t) for t in ticks]
        assert len(ticks) >= 3 and all(t.second % 2 == 0 for t in seconds)
        assert all((b.second - a.second) % 60 == 2 for a, b in pairwise(seconds))
        assert re.search(r"<title>trigger start: [^<]*</title>", bev)
        assert f"start {case['ts_start'].astimezone(dt.UTC):%H:%M:%S}" in bev  # the start rule's label
