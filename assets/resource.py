"""The one resource every asset uses: the project's config and its state folder."""

from functools import cached_property
from pathlib import Path

import dagster as dg

from fhirmony.config import ProjectConfig, SourceConfig, load_config
from fhirmony.home import Home


class FhirmonyResource(dg.ConfigurableResource):
    """Where the config file and `$FHIRMONY_HOME` are; stages get their source and paths from here."""

    config_path: str
    home_path: str

    @cached_property
    def project(self) -> ProjectConfig:
        return load_config(self.config_path)

    @property
    def home(self) -> Home:
        return Home(Path(self.home_path))

    def source(self, source_id: str) -> SourceConfig:
        return self.project.source(source_id)
