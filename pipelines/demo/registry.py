"""The Norwegian demo registry: semicolon-separated Latin-1 CSV with local columns, codes and formats.

Read through format `csv` with the mapping `schemas/mappings/no-register.yaml`. Files (CRLF lines):
pasienter, kontakter, diagnoser, labsvar, malinger, resepter, and the lab code catalogue analyser.
"""

from __future__ import annotations

import csv
import random
from datetime import date, datetime, timedelta
from pathlib import Path

from fhirmony.demo.catalog import INVALID_ICD10_NODOT, LABS, UNMAPPED_LAB_CODES, LabKind, VitalKind
from fhirmony.demo.csv_table import CsvTable
from fhirmony.demo.defects import SourceTruth
from fhirmony.demo.people import Person, make_person, out_of_range_value, person_rng, rounded

ENCODING = "latin-1"
FUTURE_YEARS = 16
FIRST_ID = 1_000_001
CARE_LEVEL = {"IMP": "1", "AMB": "3", "EMER": "A"}
LEGACY_UNIT_SHARE = 0.1  # share of glucose and cholesterol results a legacy lab reports in mg/dl
LOCAL_UNIT = {"mmol/L": "mmol/l", "umol/L": "µmol/l", "g/dL": "g/dl"}
VITAL_UNIT = {"mm[Hg]": "mmHg", "/min": "/min", "kg": "kg", "cm": "cm"}

HEADERS: dict[str, tuple[str, ...]] = {
    "pasienter.csv": (
        "lopenr",
        "fodselsdato",
        "kjonn",
        "fornavn",
        "etternavn",
        "adresse",
        "postnr",
        "poststed",
        "kommunenr",
        "dodsdato",
    ),
    "kontakter.csv": (
        "kontakt_id",
        "lopenr",
        "omsorgsniva",
        "inn_dato",
        "inn_tid",
        "ut_dato",
        "ut_tid",
        "behandlingssted",
    ),
    "diagnoser.csv": ("diagnose_id", "kontakt_id", "lopenr", "kode", "hoved_bi", "diagnosedato"),
    "labsvar.csv": ("prove_id", "lopenr", "kontakt_id", "analysekode", "provetid", "resultat", "enhet"),
    "malinger.csv": ("maling_id", "lopenr", "kontakt_id", "type", "tidspunkt", "verdi", "enhet"),
    "resepter.csv": ("resept_id", "lopenr", "atc", "varenavn", "utlevert_dato"),
}
DEFECTS: dict[str, list[str]] = {
    "malformed_line": ["labsvar", "malinger"],
    "missing_required": ["labsvar"],
    "invalid_datatype": ["labsvar", "malinger"],
    "unmapped_code": ["labsvar"],
    "duplicate_id": ["labsvar"],
    "invalid_code": ["diagnoser"],
    "out_of_range": ["labsvar"],
    "future_date": ["kontakter"],
    "missing_patient": ["labsvar"],
    "missing_value": ["pasienter"],
}
RESOURCE = {
    "pasienter": "Patient",
    "kontakter": "Encounter",
    "diagnoser": "Condition",
    "labsvar": "Observation",
    "malinger": "Observation",
    "resepter": "MedicationRequest",
}
ID_TEMPLATE = {
    "pasienter": "no-{}",
    "kontakter": "no-k{}",
    "diagnoser": "no-d{}",
    "labsvar": "no-lab-{}",
    "malinger": "no-m{}",
    "resepter": "no-r{}",
}


def _d(day: date | datetime) -> str:
    return day.strftime("%d.%m.%Y")


def _t(moment: datetime) -> str:
    return moment.strftime("%H:%M")


def _dt(moment: datetime) -> str:
    return moment.strftime("%d.%m.%Y %H:%M")


def _num(value: float) -> str:
    return repr(rounded(value)).replace(".", ",").removesuffix(",0")


def _stem(table: CsvTable) -> str:
    return table.name.removesuffix(".csv")


def write_registry(root: Path, patients: int, seed: int, truth: SourceTruth) -> None:
    """Write every registry file, patient by patient, recording each injected defect in `truth`."""
    root.mkdir(parents=True, exist_ok=True)
    _write_catalogue(root)
    tables = {
        name.removesuffix(".csv"): CsvTable(
            root / name, HEADERS[name], encoding=ENCODING, delimiter=";", newline="\r\n"
        )
        for name in HEADERS
    }
    try:
        for index in range(patients):
            rng = person_rng(seed, truth.source_id, index)
            _write_person(make_person(rng, "NO", index), rng, tables, truth)
            truth.patients += 1
    finally:
        for table in tables.values():
            table.close()


def _write_catalogue(root: Path) -> None:
    with (root / "analyser.csv").open("w", encoding=ENCODING, newline="") as handle:
        writer = csv.writer(handle, delimiter=";", lineterminator="\r\n")
        writer.writerow(("analysekode", "navn", "enhet"))
        for lab in LABS:
            writer.writerow((lab.no_code, lab.no_name, LOCAL_UNIT[lab.si_unit]))


def _emit(
    table: CsvTable, truth: SourceTruth, values: list[str], kind: str | None, detail: str, record_id: str
) -> None:
    line = table.row(values)
    truth.read(RESOURCE[_stem(table)])
    if kind:
        truth.log(kind, RESOURCE[_stem(table)], table.name, line, ID_TEMPLATE[_stem(table)].format(record_id), detail)


def _write_person(person: Person, rng: random.Random, tables: dict[str, CsvTable], truth: SourceTruth) -> None:
    defect_rng = truth.rng
    pid = str(FIRST_ID + person.index)
    sex = {"male": "M", "female": "K"}[person.sex]
    birth = _d(person.birth_date)
    kind = truth.pick("pasienter")
    detail = ""
    if kind == "missing_value":
        if defect_rng.random() < 0.5:
            sex, detail = "", "kjonn empty"
        else:
            birth, detail = "", "fodselsdato empty"
    _emit(
        tables["pasienter"],
        truth,
        [
            pid,
            birth,
            sex,
            person.given,
            person.family,
            person.street,
            person.postal_code,
            person.city,
            person.region,
            _d(person.deceased) if person.deceased else "",
        ],
        kind,
        detail,
        pid,
    )
    for visit in person.visits:
        contact = tables["kontakter"].new_id()
        start, end = visit.start, visit.end
        kind = truth.pick("kontakter")
        detail = ""
        if kind == "future_date":
            start = start.replace(year=start.year + FUTURE_YEARS)
            end = end.replace(year=end.year + FUTURE_YEARS)
            detail = f"inn_dato {_d(start)}"
        _emit(
            tables["kontakter"],
            truth,
            [contact, pid, CARE_LEVEL[visit.kind], _d(start), _t(start), _d(end), _t(end), "Helse Demo HF"],
            kind,
            detail,
            contact,
        )
        for number, condition in enumerate(visit.diagnoses):
            code = condition.icd10
            kind = truth.pick("diagnoser")
            detail = ""
            if kind == "invalid_code":
                code = defect_rng.choice(INVALID_ICD10_NODOT)
                detail = f"kode {code}"
            diagnosis = tables["diagnoser"].new_id()
            _emit(
                tables["diagnoser"],
                truth,
                [diagnosis, contact, pid, code, "H" if number == 0 else "B", _d(visit.end)],
                kind,
                detail,
                diagnosis,
            )
        for lab in visit.labs:
            _write_lab(tables["labsvar"], truth, rng, defect_rng, pid, contact, lab.kind, lab.value, lab.time)
        for vital, value in visit.vitals:
            _write_vital(tables["malinger"], truth, defect_rng, pid, contact, vital, value, visit.start)
        for medication in visit.medications:
            prescription = tables["resepter"].new_id()
            _emit(
                tables["resepter"],
                truth,
                [prescription, pid, medication.atc, medication.name, _d(visit.end + timedelta(days=1))],
                None,
                "",
                prescription,
            )


def _write_lab(
    table: CsvTable,
    truth: SourceTruth,
    rng: random.Random,
    defect_rng: random.Random,
    pid: str,
    contact: str,
    lab: LabKind,
    value: float,
    time: datetime,
) -> None:
    code, unit = lab.no_code, LOCAL_UNIT[lab.si_unit]
    shown = value
    if lab.molar_mass and lab.si_unit == "mmol/L" and rng.random() < LEGACY_UNIT_SHARE:
        shown, unit = value * lab.factor, "mg/dl"
    sample = table.new_id()
    subject, moment = pid, _dt(time)
    kind = truth.pick("labsvar")
    detail = ""
    values = [sample, subject, contact, code, moment, _num(shown), unit]
    if kind == "malformed_line":
        cut = defect_rng.randrange(2, len(values) - 1)
        line = table.raw(";".join(values[:cut]))
        truth.read("Observation")
        truth.log(kind, "Observation", table.name, line, f"no-lab-{sample}", f"row with {cut} of 7 fields")
        return
    if kind == "missing_required":
        values[3], detail = "", "analysekode empty"
    elif kind == "invalid_datatype":
        bad = (time.strftime("%Y-%m-%d %H:%M"), f"31.02.{time.year} {_t(time)}", time.strftime("%d/%m/%y %H:%M"))
        values[4] = defect_rng.choice(bad)
        detail = f"provetid {values[4]}"
    elif kind == "unmapped_code":
        values[3] = defect_rng.choice(UNMAPPED_LAB_CODES)
        detail = f"analysekode {values[3]}"
    elif kind == "out_of_range":
        values[5], values[6] = _num(out_of_range_value(defect_rng, lab)), LOCAL_UNIT[lab.si_unit]
        detail = f"resultat {values[5]} {values[6]}"
    elif kind == "missing_patient":
        values[1] = str(9_000_000 + defect_rng.randrange(1_000_000))
        detail = f"lopenr {values[1]} not in pasienter.csv"
    if kind == "duplicate_id":
        _emit(table, truth, values, None, "", sample)
        values = [*values[:5], _num(shown * 1.1), unit]
        detail = "prove_id repeated, conflicting resultat"
    _emit(table, truth, values, kind, detail, sample)


def _write_vital(
    table: CsvTable,
    truth: SourceTruth,
    defect_rng: random.Random,
    pid: str,
    contact: str,
    vital: VitalKind,
    value: float,
    time: datetime,
) -> None:
    measurement = table.new_id()
    values = [measurement, pid, contact, vital.no_code, _dt(time), _num(value), VITAL_UNIT[vital.unit]]
    kind = truth.pick("malinger")
    if kind == "malformed_line":
        cut = defect_rng.randrange(2, len(values) - 1)
        line = table.raw(";".join(values[:cut]))
        truth.read("Observation")
        truth.log(kind, "Observation", table.name, line, f"no-m{measurement}", f"row with {cut} of 7 fields")
        return
    detail = ""
    if kind == "invalid_datatype":
        values[4] = time.strftime("%Y%m%d %H%M")
        detail = f"tidspunkt {values[4]}"
    _emit(table, truth, values, kind, detail, measurement)
