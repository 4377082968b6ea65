"""The problems and the curriculum of an installation (the demo's home) against the simulator's recurring problem
families: the adjusted Rand index, each family's problem (its share of the family's cases, its name and stage),
the one-version family's version test, and the exported manifest's stages beside the order the truth gives the
families (episodes x severity).

    python3 run.py demo && .venv/bin/python benchmarks/curriculum_truth.py [--home data]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from fleetloop.curriculum.export import MINED_CLIP, PACKAGE, export_curriculum
from fleetloop.curriculum.truth import adjusted_rand, labelled_cases, problem_of_family, ranked_families, read_truth
from fleetloop.publish import connect_published
from fleetloop.settings import Settings


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--home", type=Path, default=Path("data"), help="the installation's home (default: data)")
    args = p.parse_args()
    settings = Settings.for_home(args.home)
    truth = read_truth(settings.landing / "_truth")
    if truth is None:
        raise SystemExit(f"no problem families in {settings.landing / '_truth'}: simulate the fleet first")
    episodes, families = truth
    con = connect_published(settings.published)
    try:
        cases = labelled_cases(con, episodes)
        problem_of = problem_of_family(cases)
        names = dict(con.execute("select problem_id, name from ads.ads_problem").fetchall())
        with tempfile.TemporaryDirectory() as out:
            stages = {s["problem_id"]: s for s in export_curriculum(con, Path(out))}
        print(f"adjusted Rand index {adjusted_rand(cases):.3f} on {len(cases)} cases of "
              f"{cases['family'].nunique()} families")
        for rank, family in enumerate(ranked_families(episodes, families), start=1):
            mine = cases[cases["family"] == family]
            pid = problem_of.get(family)
            share = (mine["problem_id"] == pid).mean() if len(mine) else 0.0
            stage = stages.get(pid, {})
            versions = list(families.set_index("family").loc[family, "versions"])
            tested = ""
            if len(versions) == 1:
                sig = con.execute("select is_significant, p_value from ads.ads_problem_version where problem_id = ? "
                                  "and version = ?", [pid, versions[0]]).fetchall()
                tested = f"; {versions[0]} only: significant {sig[0][0]} (p = {sig[0][1]:.2g})" if sig else ""
            print(f"truth #{rank} {family}: {len(mine)} cases, {share:.0%} in P{pid} '{names.get(pid)}', "
                  f"stage {stage.get('stage')} (target {stage.get('target_samples')}, weight {stage.get('weight')}, "
                  f"packages {stage.get(PACKAGE)}, mined clips {stage.get(MINED_CLIP)} in its manifest){tested}")
    finally:
        con.close()


if __name__ == "__main__":
    main()
