"""The published warehouse: the last asset of the graph, replaced atomically after a gated run."""
