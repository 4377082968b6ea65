"""The world builder, the committed lane-map seeds and ``fleetloop.lanemap``."""

import numpy as np
import pytest

from fleetloop.definitions import SEEDS_DIR
from fleetloop.lanemap import load_lane_map, site_ids
from fleetloop.sim.world import build_world, seed_tables


@pytest.mark.parametrize("name", ["sites.csv", "routes.csv", "lane_points.csv"])
def test_committed_seeds_equal_the_world_builder(name):
    committed = (SEEDS_DIR / name).read_text(encoding="utf-8")
    assert committed == seed_tables()[name], f"regenerate with fleetloop.sim.world.write_seeds: {name}"


def test_every_site_has_a_closed_lane_chain_per_route():
    world = build_world()
    assert len({s.city for s in world.sites}) >= 3
    for site in site_ids():
        lane_map = load_lane_map(site)
        by_id = {lane.lane_id: lane for lane in lane_map.lanes}
        for lane in lane_map.lanes:
            (succ,) = lane.successors
            gap = np.linalg.norm(lane.centerline[-1] - by_id[succ].centerline[0])
            assert gap < 0.01, (lane.lane_id, succ, gap)
            width = np.linalg.norm(lane.left_bound - lane.right_bound, axis=1)
            assert np.allclose(width, width[0], atol=0.01)


def test_route_path_lies_on_the_lane_map_with_its_road_types():
    world = build_world()
    for route in world.routes:
        lane_map = load_lane_map(route.site_id)
        s = np.linspace(0, route.length_m, 400, endpoint=False)
        s = s[np.abs(s[:, None] - route.path.s0[None, :]).min(axis=1) > 0.5]  # not on a lane joint
        x, y, _, _, prim = route.path.evaluate(s)
        dist, lane_idx = lane_map.lateral_offset(x, y)
        assert dist.max() < 0.1
        got = [lane_map.lanes[i].lane_id for i in lane_idx]
        assert got == [route.lane_id(int(p)) for p in prim]
        assert all(lane_map.lanes[i].road_type == route.road_types[p] for i, p in zip(lane_idx, prim, strict=True))
        assert (lane_map.nearest_lane(x, y) == lane_idx).all()
        assert list(lane_map.road_type_at(x, y)) == [route.road_types[p] for p in prim]


def test_unknown_site_is_a_clear_error():
    with pytest.raises(KeyError, match="unknown site"):
        load_lane_map("atlantis")
