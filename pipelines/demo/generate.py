"""`generate`: the embedded demo — three synthetic countries, a config, and the truth about their defects."""

from __future__ import annotations

import hashlib
import random
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
import yaml

from fhirmony.demo import omop, registry
from fhirmony.demo.defects import KINDS, SourceTruth
from fhirmony.demo.fhir_sources import DE_DEFECTS, US_DEFECTS, write_de_bundles, write_us_ndjson
from fhirmony.demo.people import REFERENCE_DATE

GENERATOR = "fhirmony.demo/1"
MAPPING_NAME = "no-register.yaml"
STAGES = {
    "quarantine": "the record never becomes a valid resource: the reader yields an error, FHIR validation "
    "fails, or (duplicate_id) the fhir stage rejects the second copy",
    "quality": "valid FHIR; a quality check must flag it",
}


@dataclass(frozen=True, slots=True)
class DemoSource:
    id: str
    country: str
    format: str
    name: str
    defects: dict[str, list[str]]
    write: Callable[[Path, int, int, SourceTruth], None]
    coding: dict[str, str]
    units: dict[str, str]


SOURCES: tuple[DemoSource, ...] = (
    DemoSource(
        "us-ehr",
        "US",
        "fhir-ndjson",
        "Synthetic US EHR, FHIR R4 Bulk Data export",
        US_DEFECTS,
        write_us_ndjson,
        {
            "condition": "icd-10-cm",
            "observation": "loinc",
            "medication_request": "rxnorm",
            "procedure": "snomed-ct",
            "immunization": "cvx",
        },
        # body weight and height by LOINC code: they are not lab analytes
        {"glucose": "mg/dL", "cholesterol": "mg/dL", "creatinine": "mg/dL", "29463-7": "[lb_av]", "8302-2": "[in_i]"},
    ),
    DemoSource(
        "de-klinik",
        "DE",
        "fhir-bundle",
        "Synthetic German hospital, FHIR R4 transaction Bundles",
        DE_DEFECTS,
        write_de_bundles,
        {"condition": "icd-10-gm", "observation": "loinc", "medication_request": "atc", "procedure": "ops"},
        {"glucose": "mmol/L", "cholesterol": "mmol/L", "creatinine": "umol/L"},
    ),
    DemoSource(
        "es-omop",
        "ES",
        "omop-cdm",
        "Synthetic Spanish hospital network, OMOP CDM 5.4 extract",
        omop.DEFECTS,
        omop.write_omop,
        {"condition": "snomed-ct", "observation": "loinc", "medication_request": "rxnorm", "procedure": "snomed-ct"},
        {"glucose": "mg/dL", "cholesterol": "mg/dL", "creatinine": "mg/dL"},
    ),
    DemoSource(
        "no-register",
        "NO",
        "csv",
        "Synthetic Norwegian national registry extract (CSV, Latin-1)",
        registry.DEFECTS,
        registry.write_registry,
        {"condition": "icd-10", "observation": "loinc", "medication_request": "atc"},
        {"glucose": "mmol/L", "cholesterol": "mmol/L", "creatinine": "umol/L"},
    ),
)
SOURCE_IDS = tuple(source.id for source in SOURCES)


def generate(
    out_dir: Path,
    patients: int = 200,
    seed: int = 42,
    *,
    sources: Sequence[str] | None = None,
    defect_scale: float = 1.0,
    rates: Mapping[str, float] | None = None,
) -> Path:
    """Write the demo sources, `fhirmony.yaml` and `truth.json` under `out_dir`; return the config path.

    `patients` is per source. Same arguments, same bytes. Output streams to disk patient by patient,
    so memory stays flat in `patients`. `rates` overrides the rate of some defect kinds (see
    `fhirmony.demo.defects.KINDS`), then `defect_scale` multiplies every rate (0: clean data).
    """
    if patients < 1:
        raise ValueError("patients must be at least 1")
    if defect_scale < 0:
        raise ValueError("defect_scale must be >= 0")
    effective = effective_rates(rates or {}, defect_scale)
    chosen = [s for s in SOURCES if sources is None or s.id in sources]
    unknown = set(sources or ()) - set(SOURCE_IDS)
    if unknown or not chosen:
        raise ValueError(f"unknown demo sources {sorted(unknown)}; choose from {', '.join(SOURCE_IDS)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    truths: list[SourceTruth] = []
    with tempfile.TemporaryDirectory(prefix="fhirmony-demo-") as spool:
        for source in chosen:
            root = out_dir / source.id
            if root.exists():
                shutil.rmtree(root)  # a previous, possibly larger, demo must not leave files behind
            truth = SourceTruth(
                source.id,
                source.format,
                source.defects,
                {name: effective[name] for name in source.defects},
                random.Random(f"{seed}:{source.id}:defects"),
                Path(spool) / source.id,
            )
            try:
                source.write(root, patients, seed, truth)
            finally:
                truth.close()
            truths.append(truth)
        _write_truth(out_dir / "truth.json", seed, patients, defect_scale, truths)
    mapping = _copy_mapping(out_dir) if any(s.format == "csv" for s in chosen) else None
    key_file = out_dir / "demo.key"
    key_file.write_text(hashlib.sha256(f"fhirmony-demo:{seed}".encode()).hexdigest() + "\n", encoding="utf-8")
    config = out_dir / "fhirmony.yaml"
    config.write_text(_config_text(chosen, patients, seed, mapping), encoding="utf-8")
    (out_dir / DATASHEET).write_text(yaml.safe_dump(STEWARD_ANSWERS, sort_keys=False), encoding="utf-8")
    return config


def effective_rates(overrides: Mapping[str, float], scale: float) -> dict[str, float]:
    """Each defect kind's rate: its default or the override, times `scale`; each must stay below 1."""
    unknown = set(overrides) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown defect kinds {sorted(unknown)}; known: {', '.join(KINDS)}")
    out = {name: overrides.get(name, kind.rate) * scale for name, kind in KINDS.items()}
    bad = {name: rate for name, rate in out.items() if not 0 <= rate < 1}
    if bad:
        raise ValueError(f"defect rates must be in [0, 1): {bad}")
    return out


def _write_truth(path: Path, seed: int, patients: int, scale: float, truths: list[SourceTruth]) -> None:
    header = {
        "generator": GENERATOR,
        "seed": seed,
        "patients_per_source": patients,
        "defect_scale": scale,
        "reference_date": REFERENCE_DATE.isoformat(),
        "stages": STAGES,
    }
    with path.open("wb") as out:
        out.write(b"{\n")
        for key, value in header.items():
            out.write(f'  "{key}": '.encode() + orjson.dumps(value) + b",\n")
        out.write(b'  "sources": {')
        for number, truth in enumerate(truths):
            out.write((b",\n" if number else b"\n") + f'    "{truth.source_id}": '.encode())
            truth.write_json(out)
        out.write(b"\n  }\n}\n")


def _copy_mapping(out_dir: Path) -> Path:
    """The registry's mapping, copied beside the config so the demo folder is self-contained."""
    text = (resources.files("fhirmony.schemas") / "mappings" / MAPPING_NAME).read_text(encoding="utf-8")
    target = out_dir / "mappings" / MAPPING_NAME
    target.parent.mkdir(exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target


DATASHEET = "datasheet.yaml"
# The steward's side of the datasheet, as a data steward would write it for this synthetic release.
# Questions left out here stay marked "unanswered" in the datasheet, which is part of the demo.
STEWARD_ANSWERS: dict[str, dict[str, str]] = {
    "motivation": {
        "funding": "No funding: the demo is generated by fhirmony to exercise the pipeline end to end.",
    },
    "composition": {
        "sample": "A synthetic sample: each country has the same number of generated patients.",
        "labels": "No labels; conditions, labs and medications can serve as targets.",
        "biases": "Generated from simple distributions: no care-setting, coding or selection bias of real "
        "health systems is modelled, beyond the deliberate per-country coding and unit conventions.",
    },
    "collection": {
        "ethics": "Not applicable: no person is described, so no ethical review was needed.",
        "consent": "Not applicable: synthetic data.",
        "notified": "Not applicable: synthetic data.",
        "revoke": "Not applicable: synthetic data.",
        "impact": "Not applicable: synthetic data.",
    },
    "uses": {
        "tasks": "Testing harmonization, quality checks and de-identification; teaching; never clinical research.",
        "avoid": "Any conclusion about real patients, diseases or health systems.",
    },
    "distribution": {
        "access": "Open: the release is CC0 and can be regenerated from the seed.",
    },
    "maintenance": {
        "updates": "Regenerated by every `fhirmony demo` run; nothing is maintained by hand.",
    },
}


def _config_text(chosen: list[DemoSource], patients: int, seed: int, mapping: Path | None) -> str:
    sources = []
    for source in chosen:
        entry: dict[str, Any] = {
            "id": source.id,
            "name": source.name,
            "country": source.country,
            "format": source.format,
            "path": source.id,
            "licence": "CC0-1.0",
        }
        if source.format == "csv" and mapping is not None:
            entry["mapping"] = f"mappings/{mapping.name}"
        entry["coding"] = source.coding
        entry["units"] = source.units
        sources.append(entry)
    document = {
        "release": {
            "name": "fhirmony-demo",
            "version": "0.1.0",
            "licence": "CC0-1.0",
            "publisher": "fhirmony demo generator",
            "contact": "https://github.com/fhirmony/fhirmony",
            "datasheet": DATASHEET,
            "description": f"Synthetic demo: {len(chosen)} countries, {patients} patients each (seed {seed}), "
            "with injected defects listed in truth.json. No real person is described.",
        },
        "privacy": {"profile": "gdpr-pseudonymised", "key_file": "demo.key", "k_threshold": 5},
        "sources": sources,
    }
    header = f"# Generated by {GENERATOR} (seed {seed}, {patients} patients per source). Synthetic data only.\n"
    return header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
