"""`fhirmony.yaml`: the release, privacy and sources of a project, validated on load."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

SUPPORTED_FORMATS = (
    "fhir-ndjson",
    "fhir-bundle",
    "fhir-xml",
    "synthea-csv",
    "omop-cdm",
    "mimic-iv",
    "csv",
)
SOURCE_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class ConfigError(ValueError):
    """A config file that cannot be used; the message names the file and the key or path at fault."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReleaseConfig(_Strict):
    name: str = "fhirmony-release"
    version: str = "0.1.0"
    licence: str | None = None  # derived from the sources' licences when absent
    publisher: str = "unknown"
    contact: str = "unknown"
    description: str = ""
    datasheet: Path | None = None  # steward-supplied answers (YAML) for the datasheet


class PrivacyConfig(_Strict):
    profile: Literal["gdpr-pseudonymised", "safe-harbor"] = "gdpr-pseudonymised"
    key_env: str = "FHIRMONY_KEY"  # environment variable holding the pseudonymisation key
    key_file: Path | None = None  # or a file holding it (never copied into any output)
    k_threshold: int = Field(default=5, ge=1)


class SourceConfig(_Strict):
    id: str
    country: str
    format: str
    path: Path
    licence: str
    name: str | None = None
    mapping: Path | None = None
    coding: dict[str, str] = Field(default_factory=dict)  # system of codings without one, e.g. {condition: icd-10-gm}
    units: dict[str, str] = Field(default_factory=dict)  # unit of lab values without one, e.g. {glucose: mmol/L}
    options: dict[str, Any] = Field(default_factory=dict)  # format-specific reader options

    @field_validator("id")
    @classmethod
    def _id_is_a_slug(cls, value: str) -> str:
        if not SOURCE_ID_PATTERN.match(value):
            raise ValueError("must be lower-case letters, digits, '-' or '_' (it names folders and partitions)")
        return value

    @field_validator("country")
    @classmethod
    def _country_is_alpha2(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Z]{2}", value):
            raise ValueError("must be an ISO 3166-1 alpha-2 code in capitals, e.g. DE")
        return value

    @field_validator("format")
    @classmethod
    def _format_is_supported(cls, value: str) -> str:
        if value not in SUPPORTED_FORMATS:
            raise ValueError(f"unsupported format {value!r}; supported: {', '.join(SUPPORTED_FORMATS)}")
        return value


class ProjectConfig(_Strict):
    release: ReleaseConfig = Field(default_factory=ReleaseConfig)
    privacy: PrivacyConfig = Field(default_factory=PrivacyConfig)
    sources: list[SourceConfig]
    path: Path | None = None  # the config file this was loaded from

    def source(self, source_id: str) -> SourceConfig:
        for source in self.sources:
            if source.id == source_id:
                return source
        known = ", ".join(s.id for s in self.sources)
        raise ConfigError(f"{self.path}: no source with id {source_id!r} (known: {known})")


def load_config(path: str | Path) -> ProjectConfig:
    """Read and validate a config file; relative paths inside it resolve against its folder."""
    config_path = Path(path).resolve()
    if not config_path.is_file():
        raise ConfigError(f"config file not found: {config_path}")
    try:
        raw = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"{config_path}: not valid YAML: {error}") from error
    if not isinstance(raw, dict):
        raise ConfigError(f"{config_path}: the top level must be a mapping with release, privacy, sources")
    raw["path"] = config_path
    try:
        config = ProjectConfig.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(_describe(config_path, raw, error)) from None
    return _resolve_paths(config, config_path.parent)


def _describe(config_path: Path, raw: dict[str, Any], error: ValidationError) -> str:
    lines = [f"{config_path}: invalid configuration"]
    for problem in error.errors():
        location = _location(raw, problem["loc"])
        if problem["type"] == "extra_forbidden":
            lines.append(f"  {location}: unknown key")
        else:
            lines.append(f"  {location}: {problem['msg']}")
    return "\n".join(lines)


def _location(raw: dict[str, Any], loc: tuple[Any, ...]) -> str:
    """`sources[1].format` (id 'de-mii')` — a readable path into the YAML."""
    parts: list[str] = []
    node: Any = raw
    for step in loc:
        if isinstance(step, int):
            label = f"[{step}]"
            if isinstance(node, list) and step < len(node) and isinstance(node[step], dict):
                source_id = node[step].get("id")
                if source_id:
                    label = f"[{step}] (id {source_id!r})"
            parts.append(label)
            node = node[step] if isinstance(node, list) and step < len(node) else None
        else:
            parts.append(f".{step}" if parts else str(step))
            node = node.get(step) if isinstance(node, dict) else None
    return "".join(parts)


def _check_hints(source: SourceConfig, where: str) -> None:
    """The `coding:` and `units:` hints must name known resource types, code systems, LOINC codes or
    analytes, and UCUM units."""
    from fhirmony.terminology.hints import HintError, resolve_hints

    try:
        resolve_hints(source.coding, source.units)
    except HintError as error:
        raise ConfigError(f"{where}.{error}") from None


def _resolve_paths(config: ProjectConfig, base: Path) -> ProjectConfig:
    sources = []
    seen: set[str] = set()
    for index, source in enumerate(config.sources):
        if source.id in seen:
            raise ConfigError(f"{config.path}: sources[{index}].id: duplicate source id {source.id!r}")
        seen.add(source.id)
        path = (base / source.path).resolve()
        if not path.exists():
            raise ConfigError(f"{config.path}: sources[{index}] (id {source.id!r}).path: not found: {path}")
        mapping = (base / source.mapping).resolve() if source.mapping else None
        if mapping is not None and not mapping.is_file():
            raise ConfigError(f"{config.path}: sources[{index}] (id {source.id!r}).mapping: not found: {mapping}")
        if source.format == "csv" and mapping is None:
            raise ConfigError(
                f"{config.path}: sources[{index}] (id {source.id!r}).mapping: format 'csv' needs a mapping file"
            )
        _check_hints(source, f"{config.path}: sources[{index}] (id {source.id!r})")
        sources.append(source.model_copy(update={"path": path, "mapping": mapping}))
    if not sources:
        raise ConfigError(f"{config.path}: sources: at least one source is needed")
    privacy = config.privacy
    if privacy.key_file is not None:
        privacy = privacy.model_copy(update={"key_file": (base / privacy.key_file).resolve()})
    release = config.release
    if release.datasheet is not None:
        release = release.model_copy(update={"datasheet": (base / release.datasheet).resolve()})
    return config.model_copy(update={"sources": sources, "privacy": privacy, "release": release})
