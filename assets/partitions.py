"""Partitions: one per source (country + dataset), from the config file."""

import dagster as dg

from fhirmony.config import ProjectConfig


def source_partitions(config: ProjectConfig) -> dg.StaticPartitionsDefinition:
    return dg.StaticPartitionsDefinition([source.id for source in config.sources])
