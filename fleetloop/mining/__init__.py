"""Scene mining: per-second tags declared in ``seeds/tag_definitions.csv``, a bitmap tag store and a small
expression language (boolean and temporal operators over tag names) compiled to DuckDB SQL. See
``docs/mining.md``."""
