"""The two FHIR demo sources: a US Bulk NDJSON export and German per-patient transaction Bundles."""

from __future__ import annotations

import copy
import random
import uuid
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import orjson

from fhirmony.demo.catalog import INVALID_ICD10, LabKind
from fhirmony.demo.defects import SourceTruth
from fhirmony.demo.fhir_builder import DE, US, Builder, Convention, Resource
from fhirmony.demo.people import LabResult, make_person, out_of_range_value, person_rng, rounded

FUTURE_YEARS = 16  # a multiple of 4: 29 February stays a valid date

US_DEFECTS: dict[str, list[str]] = {
    "malformed_line": ["Observation.lab", "Observation.vital", "Condition"],
    "missing_required": ["Observation.lab", "Observation.vital", "Condition"],
    "invalid_datatype": ["Observation.lab", "Observation.vital"],
    "duplicate_id": ["Observation.lab", "Condition"],
    "invalid_code": ["Condition", "Observation.lab"],
    "out_of_range": ["Observation.lab"],
    "future_date": ["Encounter", "Condition"],
    "missing_patient": ["Condition", "Observation.lab", "MedicationRequest"],
    "missing_value": ["Patient"],
}
DE_DEFECTS: dict[str, list[str]] = {name: slots for name, slots in US_DEFECTS.items() if name != "malformed_line"}


class NdjsonSink:
    """One `<Type>.<chunk>.ndjson` file per resource type, a new chunk every `lines_per_file` lines."""

    def __init__(self, root: Path, lines_per_file: int) -> None:
        self.root = root
        self.limit = lines_per_file
        self.handles: dict[str, tuple[IO[bytes], str, int, int]] = {}  # type -> handle, name, chunk, lines

    def write(self, resource_type: str, line: bytes) -> tuple[str, int]:
        handle, name, chunk, lines = self.handles.get(resource_type, (None, "", -1, self.limit))
        if handle is None or lines >= self.limit:
            if handle is not None:
                handle.close()
            chunk += 1
            name = f"{resource_type}.{chunk:03d}.ndjson"
            handle = (self.root / name).open("wb")
            lines = 0
        handle.write(line + b"\n")
        lines += 1
        self.handles[resource_type] = (handle, name, chunk, lines)
        return name, lines

    def close(self) -> None:
        for handle, *_ in self.handles.values():
            handle.close()
        self.handles.clear()


def write_us_ndjson(root: Path, patients: int, seed: int, truth: SourceTruth, lines_per_file: int = 100_000) -> None:
    """US EHR Bulk export: ICD-10-CM + SNOMED CT, LOINC in mg/dL, lb and in, RxNorm, CVX, UUID ids."""
    root.mkdir(parents=True, exist_ok=True)
    builder = Builder(US)
    sink = NdjsonSink(root, lines_per_file)
    rng = truth.rng
    try:
        for index in range(patients):
            story_rng = person_rng(seed, truth.source_id, index)
            person = make_person(story_rng, US.country, index)
            for slot, resource, lab in builder.resources(person, story_rng):
                kind = truth.pick(slot)
                resource_type = resource["resourceType"]
                if kind == "malformed_line":
                    body = orjson.dumps(resource)
                    name, line = sink.write(resource_type, body[: rng.randrange(20, len(body) - 2)])
                    truth.read(resource_type)
                    truth.log(kind, resource_type, name, line, resource["id"], "truncated JSON line")
                    continue
                copies, detail = _inject(kind, resource, lab, rng, US, truth.source_id)
                for number, item in enumerate(copies):
                    name, line = sink.write(resource_type, orjson.dumps(item))
                    truth.read(resource_type)
                    if kind and number == len(copies) - 1:
                        truth.log(kind, resource_type, name, line, item["id"], detail)
            truth.patients += 1
    finally:
        sink.close()


def write_de_bundles(root: Path, patients: int, seed: int, truth: SourceTruth) -> None:
    """German hospital: one transaction Bundle per patient, ICD-10-GM, OPS, ATC, LOINC in SI units."""
    root.mkdir(parents=True, exist_ok=True)
    builder = Builder(DE)
    rng = truth.rng
    base = "https://klinikum.example.de/fhir"
    for index in range(patients):
        story_rng = person_rng(seed, truth.source_id, index)
        person = make_person(story_rng, DE.country, index)
        folder = root / f"{index // 1000:03d}"
        if index % 1000 == 0:
            folder.mkdir(exist_ok=True)
        name = f"{folder.name}/Bundle-de-pat-{index + 1:06d}.json"
        entries: list[Resource] = []
        for slot, resource, lab in builder.resources(person, story_rng):
            kind = truth.pick(slot)
            copies, detail = _inject(kind, resource, lab, rng, DE, truth.source_id)
            for number, item in enumerate(copies):
                resource_type = item["resourceType"]
                entries.append(
                    {
                        "fullUrl": f"{base}/{resource_type}/{item['id']}",
                        "resource": item,
                        "request": {"method": "PUT", "url": f"{resource_type}/{item['id']}"},
                    }
                )
                truth.read(resource_type)
                if kind and number == len(copies) - 1:
                    position = len(entries) - 1
                    truth.log(
                        kind,
                        resource_type,
                        name,
                        position + 1,
                        item["id"],
                        f"entry[{position}]: {detail}" if detail else f"entry[{position}]",
                    )
        bundle = {
            "resourceType": "Bundle",
            "id": f"de-bundle-{index + 1:06d}",
            "type": "transaction",
            "timestamp": "2026-01-15T06:00:00+01:00",
            "entry": entries,
        }
        (root / name).write_bytes(orjson.dumps(bundle, option=orjson.OPT_INDENT_2))
        truth.patients += 1


def _inject(
    kind: str | None,
    resource: Resource,
    lab: LabResult | None,
    rng: random.Random,
    convention: Convention,
    source_id: str,
) -> tuple[list[Resource], str]:
    """Apply one defect in place; returns the records to write (two for a duplicate) and a detail."""
    if kind is None:
        return [resource], ""
    resource_type = resource["resourceType"]
    if kind == "duplicate_id":
        second = copy.deepcopy(resource)
        if "valueQuantity" in second:
            second["valueQuantity"]["value"] = rounded(second["valueQuantity"]["value"] * 1.1)
            return [resource, second], "same id, conflicting value"
        return [resource, second], "identical copy"
    if kind == "missing_required":
        field = "status" if resource_type == "Observation" else "subject"
        del resource[field]
        return [resource], f"{resource_type}.{field} removed"
    if kind == "invalid_datatype":
        moment = datetime.fromisoformat(resource["effectiveDateTime"])
        if convention.country == "US":
            resource["effectiveDateTime"] = moment.strftime("%m/%d/%Y %H:%M")
            return [resource], "effectiveDateTime in US format"
        if rng.random() < 0.5:
            resource["effectiveDateTime"] = moment.strftime("%d.%m.%Y %H:%M")
            return [resource], "effectiveDateTime in German format"
        value = resource["valueQuantity"]["value"]
        resource["valueQuantity"]["value"] = str(value).replace(".", ",")
        return [resource], "valueQuantity.value with a decimal comma"
    if kind == "invalid_code":
        coding = resource["code"]["coding"][0]
        if resource_type == "Condition":
            coding["code"] = rng.choice(INVALID_ICD10)
        else:
            local = {"14749-6": "GLU", "2345-7": "GLU", "718-7": "HGB"}.get(coding["code"], "LAB")
            coding["code"] = rng.choice((coding["code"].replace("-", ""), local))  # lost hyphen, local code
        return [resource], f"code {coding['code']}"
    if kind == "out_of_range":
        assert lab is not None
        resource["valueQuantity"]["value"] = rounded(_in_unit(out_of_range_value(rng, lab.kind), lab.kind, convention))
        return [resource], f"value {resource['valueQuantity']['value']}"
    if kind == "future_date":
        fields = ("period.start", "period.end") if resource_type == "Encounter" else ("onsetDateTime", "recordedDate")
        for path in fields:
            _shift_year(resource, path)
        return [resource], f"{fields[0]} in {_get(resource, fields[0])[:4]}"
    if kind == "missing_patient":
        if convention.uuid_ids:
            missing = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        else:
            missing = f"{convention.id_prefix}-pat-x{rng.randrange(10**6):06d}"
        resource["subject"] = {"reference": f"Patient/{missing}"}
        return [resource], f"Patient/{missing}"
    if kind == "missing_value":
        field = rng.choice(("gender", "birthDate"))
        del resource[field]
        return [resource], f"Patient.{field} removed"
    raise ValueError(f"{source_id}: defect {kind!r} is not implemented for FHIR sources")


def _in_unit(si_value: float, kind: LabKind, convention: Convention) -> float:
    return si_value * kind.factor if convention.mass_units else si_value


def _get(resource: Resource, path: str) -> Any:
    node: Any = resource
    for part in path.split("."):
        node = node[part]
    return node


def _shift_year(resource: Resource, path: str) -> None:
    *parents, leaf = path.split(".")
    node = resource
    for part in parents:
        node = node[part]
    value: str = node[leaf]
    node[leaf] = f"{int(value[:4]) + FUTURE_YEARS:04d}{value[4:]}"
