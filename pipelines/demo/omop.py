"""The Spanish demo source: an OMOP CDM 5.4 extract (comma-separated UTF-8 CSV, lower-case table names).

Conditions carry SNOMED CT standard concepts with CIE-10-ES (ICD-10-CM based) source values, labs LOINC
concepts in mg/dL, drugs RxNorm, procedures SNOMED CT; times are naive `YYYY-MM-DD HH:MM:SS`. The
extract ships the CONCEPT rows it uses. Concept ids are modelled on the OHDSI vocabulary (not checked
against Athena); drugs and procedures use local ids from 2,000,000,000 as OMOP reserves for them.
"""

from __future__ import annotations

import csv
import random
from datetime import datetime, timedelta
from pathlib import Path

from fhirmony.demo.catalog import CONDITIONS, LABS, MEDICATIONS, PROCEDURES, VITALS, ConditionKind, LabKind
from fhirmony.demo.csv_table import CsvTable
from fhirmony.demo.defects import SourceTruth
from fhirmony.demo.people import Person, Visit, make_person, out_of_range_value, person_rng, rounded

FUTURE_YEARS = 16
EHR = "32817"  # type concept: EHR
GENDER = {"male": "8507", "female": "8532"}
VISIT = {"IMP": "9201", "AMB": "9202", "EMER": "9203"}
CONDITION_CONCEPT = {
    "t2d": "201826",
    "htn": "316866",
    "hld": "432867",
    "asthma": "317009",
    "copd": "255573",
    "ckd3": "443601",
    "dep": "440383",
    "uri": "257011",
    "lbp": "194133",
    "uti": "81902",
}
MEASUREMENT_CONCEPT = {
    "2345-7": "3004501",
    "2093-3": "3027114",
    "2571-8": "3022192",
    "2160-0": "3016723",
    "718-7": "3000963",
    "2823-3": "3023103",
    "2951-2": "3019550",
    "8480-6": "3004249",
    "8462-4": "3012888",
    "8867-4": "3027018",
    "29463-7": "3025315",
    "8302-2": "3036277",
}
UNIT_CONCEPT = {
    "mg/dL": "8840",
    "mmol/L": "8753",
    "g/dL": "8713",
    "mm[Hg]": "8876",
    "/min": "8541",
    "kg": "9529",
    "cm": "8582",
}
DRUG_CONCEPT = {key: str(2_000_000_100 + n) for n, key in enumerate(MEDICATIONS)}
PROCEDURE_CONCEPT = {p.snomed: str(2_000_000_200 + n) for n, p in enumerate(PROCEDURES)}

HEADERS: dict[str, tuple[str, ...]] = {
    "person": (
        "person_id",
        "gender_concept_id",
        "year_of_birth",
        "month_of_birth",
        "day_of_birth",
        "birth_datetime",
        "race_concept_id",
        "ethnicity_concept_id",
        "person_source_value",
        "gender_source_value",
    ),
    "death": ("person_id", "death_date", "death_datetime", "death_type_concept_id"),
    "visit_occurrence": (
        "visit_occurrence_id",
        "person_id",
        "visit_concept_id",
        "visit_start_date",
        "visit_start_datetime",
        "visit_end_date",
        "visit_end_datetime",
        "visit_type_concept_id",
    ),
    "condition_occurrence": (
        "condition_occurrence_id",
        "person_id",
        "condition_concept_id",
        "condition_start_date",
        "condition_start_datetime",
        "condition_end_date",
        "condition_end_datetime",
        "condition_type_concept_id",
        "visit_occurrence_id",
        "condition_source_value",
        "condition_source_concept_id",
    ),
    "measurement": (
        "measurement_id",
        "person_id",
        "measurement_concept_id",
        "measurement_date",
        "measurement_datetime",
        "measurement_type_concept_id",
        "value_as_number",
        "unit_concept_id",
        "visit_occurrence_id",
        "measurement_source_value",
        "unit_source_value",
    ),
    "drug_exposure": (
        "drug_exposure_id",
        "person_id",
        "drug_concept_id",
        "drug_exposure_start_date",
        "drug_exposure_start_datetime",
        "drug_exposure_end_date",
        "drug_type_concept_id",
        "quantity",
        "days_supply",
        "visit_occurrence_id",
        "drug_source_value",
    ),
    "procedure_occurrence": (
        "procedure_occurrence_id",
        "person_id",
        "procedure_concept_id",
        "procedure_date",
        "procedure_datetime",
        "procedure_type_concept_id",
        "visit_occurrence_id",
        "procedure_source_value",
    ),
}
RESOURCE = {
    "person": "Patient",
    "visit_occurrence": "Encounter",
    "condition_occurrence": "Condition",
    "measurement": "Observation",
    "drug_exposure": "MedicationRequest",
    "procedure_occurrence": "Procedure",
}
DEFECTS: dict[str, list[str]] = {
    "malformed_line": ["measurement.vital"],
    "missing_required": ["condition_occurrence", "measurement.lab"],
    "invalid_datatype": ["measurement.lab", "measurement.vital"],
    "duplicate_id": ["measurement.lab", "measurement.vital"],
    "unmapped_concept": ["condition_occurrence"],
    "out_of_range": ["measurement.lab"],
    "future_date": ["visit_occurrence"],
    "missing_patient": ["measurement.lab"],
}


def _d(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d")


def _dt(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def write_omop(root: Path, patients: int, seed: int, truth: SourceTruth) -> None:
    """Write the OMOP tables patient by patient, and CONCEPT with every concept they use."""
    root.mkdir(parents=True, exist_ok=True)
    _write_concepts(root)
    tables = {name: CsvTable(root / f"{name}.csv", HEADERS[name]) for name in HEADERS}
    try:
        for index in range(patients):
            rng = person_rng(seed, truth.source_id, index)
            _write_person(make_person(rng, "US", index), tables, truth)  # OMOP holds no names or addresses
            truth.patients += 1
    finally:
        for table in tables.values():
            table.close()


def _emit(
    table: CsvTable, truth: SourceTruth, values: list[str], kind: str | None, record_id: str, detail: str = ""
) -> None:
    stem = table.name.removesuffix(".csv")
    line = table.row(values)
    truth.read(RESOURCE[stem])
    if kind:
        prefix = "m-" if stem == "measurement" else ""
        truth.log(kind, RESOURCE[stem], table.name, line, prefix + record_id, detail)


def _write_person(person: Person, tables: dict[str, CsvTable], truth: SourceTruth) -> None:
    rng = truth.rng
    pid = tables["person"].new_id()
    birth = person.birth_date
    _emit(
        tables["person"],
        truth,
        [
            pid,
            GENDER[person.sex],
            str(birth.year),
            str(birth.month),
            str(birth.day),
            f"{birth.isoformat()} 00:00:00",
            "0",
            "0",
            f"ES-{int(pid) + 500000}",
            person.sex[0].upper(),
        ],
        None,
        pid,
    )
    if person.deceased:
        tables["death"].row([pid, _d(person.deceased), _dt(person.deceased), EHR])
    for visit in person.visits:
        visit_id = _write_visit(visit, pid, tables["visit_occurrence"], truth)
        for condition in visit.diagnoses:
            _write_condition(condition, visit, pid, visit_id, tables["condition_occurrence"], truth, rng)
        for lab in visit.labs:
            _write_measurement(tables["measurement"], truth, rng, pid, visit_id, lab.kind, lab.value, lab.time)
        for vital, value in visit.vitals:
            concept, unit = MEASUREMENT_CONCEPT[vital.loinc], vital.unit
            values = [
                tables["measurement"].new_id(),
                pid,
                concept,
                _d(visit.start),
                _dt(visit.start),
                EHR,
                repr(value),
                UNIT_CONCEPT[unit],
                visit_id,
                vital.no_code,
                unit,
            ]
            _measurement_row(tables["measurement"], truth, rng, values, "measurement.vital")
        for medication in visit.medications:
            drug = tables["drug_exposure"].new_id()
            _emit(
                tables["drug_exposure"],
                truth,
                [
                    drug,
                    pid,
                    DRUG_CONCEPT[medication.key],
                    _d(visit.end),
                    _dt(visit.end),
                    _d(visit.end + timedelta(days=30)),
                    "32838",
                    "30",
                    "30",
                    visit_id,
                    medication.atc,
                ],
                None,
                drug,
            )
        for procedure in visit.procedures:
            number = tables["procedure_occurrence"].new_id()
            _emit(
                tables["procedure_occurrence"],
                truth,
                [
                    number,
                    pid,
                    PROCEDURE_CONCEPT[procedure.snomed],
                    _d(visit.start),
                    _dt(visit.start),
                    EHR,
                    visit_id,
                    procedure.snomed,
                ],
                None,
                number,
            )


def _write_visit(visit: Visit, pid: str, table: CsvTable, truth: SourceTruth) -> str:
    visit_id = table.new_id()
    start, end = visit.start, visit.end
    kind = truth.pick("visit_occurrence")
    detail = ""
    if kind == "future_date":
        start, end = start.replace(year=start.year + FUTURE_YEARS), end.replace(year=end.year + FUTURE_YEARS)
        detail = f"visit_start_date {_d(start)}"
    _emit(
        table,
        truth,
        [visit_id, pid, VISIT[visit.kind], _d(start), _dt(start), _d(end), _dt(end), EHR],
        kind,
        visit_id,
        detail,
    )
    return visit_id


def _write_condition(
    condition: ConditionKind,
    visit: Visit,
    pid: str,
    visit_id: str,
    table: CsvTable,
    truth: SourceTruth,
    rng: random.Random,
) -> None:
    number = table.new_id()
    concept, source = CONDITION_CONCEPT[condition.key], condition.icd10cm
    end = "" if condition.chronic else _d(visit.end)
    kind = truth.pick("condition_occurrence")
    detail = ""
    if kind == "missing_required":
        concept, source, detail = "0", "", "condition_concept_id 0, no source value"
    elif kind == "unmapped_concept":
        concept, detail = "0", f"condition_concept_id 0, source value {source}"
    _emit(
        table,
        truth,
        [number, pid, concept, _d(visit.start), _dt(visit.start), end, "", EHR, visit_id, source, "0"],
        kind,
        number,
        detail,
    )


def _write_measurement(
    table: CsvTable,
    truth: SourceTruth,
    rng: random.Random,
    pid: str,
    visit_id: str,
    lab: LabKind,
    value: float,
    time: datetime,
) -> None:
    values = [
        table.new_id(),
        pid,
        MEASUREMENT_CONCEPT[lab.mass_loinc],
        _d(time),
        _dt(time),
        EHR,
        repr(rounded(value * lab.factor)),
        UNIT_CONCEPT[lab.mass_unit],
        visit_id,
        lab.no_code,
        lab.mass_unit,
    ]
    _measurement_row(table, truth, rng, values, "measurement.lab", lab)


def _measurement_row(
    table: CsvTable, truth: SourceTruth, rng: random.Random, values: list[str], slot: str, lab: LabKind | None = None
) -> None:
    kind = truth.pick(slot)
    detail = ""
    if kind == "malformed_line":
        cut = rng.randrange(2, 6)
        line = table.raw(",".join(values[:cut]))
        truth.read("Observation")
        truth.log(kind, "Observation", table.name, line, f"m-{values[0]}", f"row with {cut} of 11 fields")
        return
    if kind == "invalid_datatype":
        moment = datetime.strptime(values[4], "%Y-%m-%d %H:%M:%S")
        values[3], values[4] = moment.strftime("%d/%m/%Y"), moment.strftime("%d/%m/%Y %H:%M")
        detail = f"measurement_datetime {values[4]}"
    elif kind == "missing_required":
        values[2], values[9] = "0", ""
        detail = "measurement_concept_id 0, no source value"
    elif kind == "out_of_range" and lab is not None:
        values[6] = repr(rounded(out_of_range_value(rng, lab) * lab.factor))
        detail = f"value_as_number {values[6]}"
    elif kind == "missing_patient":
        values[1] = str(9_000_000 + rng.randrange(1_000_000))
        detail = f"person_id {values[1]} not in person.csv"
    elif kind == "duplicate_id":
        _emit(table, truth, values, None, values[0])
        values = [*values[:6], repr(rounded(float(values[6]) * 1.1)), *values[7:]]
        detail = "measurement_id repeated, conflicting value"
    _emit(table, truth, values, kind, values[0], detail)


def _write_concepts(root: Path) -> None:
    rows: list[tuple[str, str, str, str, str, str, str]] = [
        ("8507", "MALE", "Gender", "Gender", "Gender", "S", "M"),
        ("8532", "FEMALE", "Gender", "Gender", "Gender", "S", "F"),
        ("9201", "Inpatient Visit", "Visit", "Visit", "Visit", "S", "IP"),
        ("9202", "Outpatient Visit", "Visit", "Visit", "Visit", "S", "OP"),
        ("9203", "Emergency Room Visit", "Visit", "Visit", "Visit", "S", "ER"),
        (EHR, "EHR", "Type Concept", "Type Concept", "Type Concept", "S", "OMOP4976890"),
    ]
    rows += [
        (CONDITION_CONCEPT[c.key], c.display, "Condition", "SNOMED", "Clinical Finding", "S", c.snomed)
        for c in CONDITIONS
    ]
    for lab in LABS:
        rows.append(
            (
                MEASUREMENT_CONCEPT[lab.mass_loinc],
                lab.mass_display,
                "Measurement",
                "LOINC",
                "Lab Test",
                "S",
                lab.mass_loinc,
            )
        )
    rows += [
        (MEASUREMENT_CONCEPT[v.loinc], v.display, "Measurement", "LOINC", "Clinical Observation", "S", v.loinc)
        for v in VITALS
    ]
    rows += [(concept, unit, "Unit", "UCUM", "Unit", "S", unit) for unit, concept in UNIT_CONCEPT.items()]
    rows += [
        (DRUG_CONCEPT[m.key], m.rxnorm_display, "Drug", "RxNorm", "Clinical Drug", "S", m.rxnorm)
        for m in MEDICATIONS.values()
    ]
    rows += [
        (PROCEDURE_CONCEPT[p.snomed], p.display, "Procedure", "SNOMED", "Procedure", "S", p.snomed) for p in PROCEDURES
    ]
    with (root / "concept.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(
            (
                "concept_id",
                "concept_name",
                "domain_id",
                "vocabulary_id",
                "concept_class_id",
                "standard_concept",
                "concept_code",
                "valid_start_date",
                "valid_end_date",
                "invalid_reason",
            )
        )
        for row in sorted(set(rows), key=lambda r: int(r[0])):
            writer.writerow((*row, "1970-01-01", "2099-12-31", ""))
