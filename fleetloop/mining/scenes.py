"""Scenes: named conjunctions of tags (``seeds/scene_definitions.csv``: scene, query, description), the conditions
the scene rates (``ads.ads_scene_rate``) are taken under.

A scene's query is a query of the mining language that is one tag or an ``and`` of tags, without filters: a scene
names tags, never thresholds, so every threshold keeps its one home in its tag's rule, and site and version stay
the grain of the rates rather than part of the condition. The built-in scene ``ALL_SECONDS`` holds on every stored
second: the unconditioned rate beside the conditioned ones."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from fleetloop.definitions import read_seed
from fleetloop.mining.engine import conjunction
from fleetloop.mining.language import Filters, MiningQueryError, parse
from fleetloop.mining.store import ubigint
from fleetloop.mining.tags import KEYWORDS, TAG_NAME, word_column

SEED = "scene_definitions"
ALL_SECONDS = "all_seconds"


class SceneDefinitionError(ValueError):
    """A scene declaration that cannot be used, named with its scene."""


@dataclass(frozen=True)
class Scene:
    """One declared scene: its name, its query and the tags it is the conjunction of."""

    name: str
    query: str
    tags: tuple[str, ...]
    description: str


def scenes_from_rows(rows: tuple[dict[str, str], ...] | list[dict[str, str]],
                     tag_map: dict[str, tuple[int, int]]) -> tuple[Scene, ...]:
    """Scenes from seed rows, in row order, each checked against the tags of ``tag_map`` (name -> word, bit)."""
    scenes: list[Scene] = []
    for row in rows:
        name, query = row["scene"].strip(), row["query"].strip()
        if not TAG_NAME.fullmatch(name) or name in KEYWORDS:
            raise SceneDefinitionError(f"scene {name!r}: a name is lower case letters, digits and '_', not a keyword")
        if name in tag_map or name == ALL_SECONDS or any(s.name == name for s in scenes):
            raise SceneDefinitionError(f"scene {name!r}: the name is taken (a tag, {ALL_SECONDS!r} or another scene)")
        try:
            parsed = parse(query, tag_map)
        except MiningQueryError as exc:
            raise SceneDefinitionError(f"scene {name!r}: {exc}") from None
        tags = conjunction(parsed.expr)
        if tags is None or parsed.filters != Filters():
            raise SceneDefinitionError(f"scene {name!r}: {query!r} is not a conjunction of tags without filters")
        scenes.append(Scene(name, query, tags, row["description"].strip()))
    return tuple(scenes)


def load_scenes(tag_map: dict[str, tuple[int, int]]) -> tuple[Scene, ...]:
    """The declared scenes of ``seeds/scene_definitions.csv``."""
    return scenes_from_rows(read_seed(SEED), tag_map)


def scene_condition(tags: tuple[str, ...] | list[str], tag_map: dict[str, tuple[int, int]], relation: str) -> str:
    """SQL true on the rows of the bitmap ``relation`` where every tag of ``tags`` holds (a scene's, or a problem's
    defining tags): one mask test per word; true for no tag."""
    missing = sorted(set(tags) - tag_map.keys())
    if missing:
        raise ValueError(f"tags not in the tag store: {', '.join(missing)}")
    masks: dict[int, int] = defaultdict(int)
    for tag in tags:
        word, bit = tag_map[tag]
        masks[word] |= 1 << bit
    if not masks:
        return "true"
    return " and ".join(f"(({relation}.{word_column(w)} & {ubigint(m)}) = {ubigint(m)})"
                        for w, m in sorted(masks.items()))
