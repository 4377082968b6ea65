"""Dagster orchestration of fleetloop: a thin layer over the ``fleetloop`` package.

The one ``Definitions`` lives in ``dagster_pipelines.definitions``; domains add subpackages
(``ods``, ``warehouse``, ``scorer``, ...), the shared daily partitions and the warehouse resource.
"""
