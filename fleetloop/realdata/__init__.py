"""Importers of recorded real driving into the raw landing contract (each keeps its data's licence notice)."""
