"""Ingest benchmark: per source format, records/s and peak RSS on a generated large input.

    python benchmarks/bench_ingest.py                      # 500k records per format
    python benchmarks/bench_ingest.py --records 20000 --formats mimic-iv omop-cdm

For each format it generates a synthetic input (1 patient per 100 records, the rest labs/observations,
with units to convert and ICD-9 codes to map), then measures, each in a fresh process so peak RSS is
that run's own:
  * `read+normalize`: the reader and `fhirmony.terminology.Normalizer`, one process;
  * `fhir-stage`: `fhirmony.fhir.stage.run_fhir_stage` (read, normalize, validate with
    fhir.resources.R4B in a process pool, write NDJSON), `--workers` processes (default 2).
Results go to benchmarks/results/bench_ingest.json.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import gzip
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "bench_ingest.json"
PER_PATIENT = 100
LABS = [  # (MIMIC itemid, LOINC, label, unit, typical value) — units include ones to convert
    ("50931", "2345-7", "Glucose", "mg/dL", 105.0),
    ("50971", "2823-3", "Potassium", "mEq/L", 4.1),
    ("50912", "2160-0", "Creatinine", "mg/dL", 1.1),
    ("51222", "718-7", "Hemoglobin", "g/dL", 13.2),
    ("51301", "6690-2", "White Blood Cells", "K/uL", 7.4),
]
ICD9 = ["4019", "4280", "42731", "5849", "25000"]
START = datetime.datetime(2010, 1, 1)


def _value(i: int, base: float) -> float:
    return round(base * (0.8 + (i % 40) / 100), 2)


def _stamp(i: int) -> str:
    """A distinct time per record (Synthea rows have no id: identical rows would be duplicates)."""
    return (START + datetime.timedelta(seconds=37 * i)).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- generators: each writes about `n` records under `root` and returns the source path ------------


def gen_fhir_ndjson(root: Path, n: int) -> Path:
    patients, observations = n // PER_PATIENT, n - n // PER_PATIENT
    with (root / "Patient.ndjson").open("wb") as out:
        for p in range(patients):
            out.write(
                orjson.dumps({"resourceType": "Patient", "id": f"p{p}", "gender": "female", "birthDate": "1970-01-01"})
                + b"\n"
            )
    with (root / "Observation.ndjson").open("wb") as out:
        for i in range(observations):
            _, loinc, label, unit, base = LABS[i % len(LABS)]
            unit = "mmol/L" if loinc == "2345-7" and i % 2 else unit
            out.write(
                orjson.dumps(
                    {
                        "resourceType": "Observation",
                        "id": f"o{i}",
                        "status": "final",
                        "code": {"coding": [{"system": "http://loinc.org", "code": loinc, "display": label}]},
                        "subject": {"reference": f"Patient/p{i % max(patients, 1)}"},
                        "effectiveDateTime": "2020-01-01T10:00:00Z",
                        "valueQuantity": {"value": _value(i, 5.8 if unit == "mmol/L" else base), "unit": unit},
                    }
                )
                + b"\n"
            )
    return root


def gen_fhir_bundle(root: Path, n: int) -> Path:
    (root / "ndjson").mkdir()
    source = gen_fhir_ndjson(root / "ndjson", n)
    out_dir = root / "bundles"
    out_dir.mkdir()
    entries: list[dict[str, Any]] = []
    count = 0
    for name in ("Patient.ndjson", "Observation.ndjson"):
        with (source / name).open("rb") as handle:
            for line in handle:
                entries.append({"resource": orjson.loads(line)})
                if len(entries) == 500:
                    count += 1
                    (out_dir / f"b{count:05d}.json").write_bytes(
                        orjson.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries})
                    )
                    entries = []
    if entries:
        (out_dir / "last.json").write_bytes(
            orjson.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries})
        )
    return out_dir


def gen_fhir_xml(root: Path, n: int) -> Path:
    patients = n // PER_PATIENT
    per_file = 5000
    for start in range(0, n, per_file):
        with (root / f"bundle-{start // per_file:04d}.xml").open("w", encoding="utf-8") as out:
            out.write('<Bundle xmlns="http://hl7.org/fhir"><type value="collection"/>\n')
            for i in range(start, min(n, start + per_file)):
                if i % PER_PATIENT == 0:
                    out.write(
                        f'<entry><resource><Patient><id value="p{i}"/><gender value="male"/>'
                        f'<birthDate value="1960-02-03"/></Patient></resource></entry>\n'
                    )
                    continue
                _, loinc, label, unit, base = LABS[i % len(LABS)]
                out.write(
                    f'<entry><resource><Observation><id value="o{i}"/><status value="final"/>'
                    f'<code><coding><system value="http://loinc.org"/><code value="{loinc}"/>'
                    f'<display value="{label}"/></coding></code>'
                    f'<subject><reference value="Patient/p{(i // PER_PATIENT) % max(patients, 1)}"/></subject>'
                    f'<effectiveDateTime value="2020-01-01T10:00:00Z"/>'
                    f'<valueQuantity><value value="{_value(i, base)}"/><unit value="{unit}"/></valueQuantity>'
                    f"</Observation></resource></entry>\n"
                )
            out.write("</Bundle>\n")
    return root


def _write_csv(path: Path, header: list[str], rows: Any) -> None:
    opener: Callable[..., Any] = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "wt", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def gen_synthea_csv(root: Path, n: int) -> Path:
    patients = max(1, n // PER_PATIENT)
    _write_csv(
        root / "patients.csv",
        ["Id", "BIRTHDATE", "DEATHDATE", "FIRST", "LAST", "GENDER"],
        ([f"p{p}", "1970-01-01", "", "Ann", "Lee", "F"] for p in range(patients)),
    )
    _write_csv(
        root / "observations.csv",
        ["DATE", "PATIENT", "ENCOUNTER", "CATEGORY", "CODE", "DESCRIPTION", "VALUE", "UNITS", "TYPE"],
        (
            [
                _stamp(i),
                f"p{i % patients}",
                "",
                "laboratory",
                LABS[i % 5][1],
                LABS[i % 5][2],
                _value(i, LABS[i % 5][4]),
                LABS[i % 5][3],
                "numeric",
            ]
            for i in range(n - patients)
        ),
    )
    return root


def gen_omop_cdm(root: Path, n: int) -> Path:
    persons = max(1, n // PER_PATIENT)
    concepts = [
        ("8507", "MALE", "Gender", "M"),
        ("9529", "kilogram", "UCUM", "kg"),
        ("8840", "milligram per deciliter", "UCUM", "mg/dL"),
        ("8753", "millimole per liter", "UCUM", "mmol/L"),
    ]
    concepts += [(str(3000000 + k), label, "LOINC", loinc) for k, (_, loinc, label, _, _) in enumerate(LABS)]
    _write_csv(
        root / "CONCEPT.csv",
        [
            "concept_id",
            "concept_name",
            "domain_id",
            "vocabulary_id",
            "concept_class_id",
            "standard_concept",
            "concept_code",
        ],
        ([cid, name, "x", vocab, "x", "S", code] for cid, name, vocab, code in concepts),
    )
    _write_csv(
        root / "PERSON.csv",
        [
            "person_id",
            "gender_concept_id",
            "year_of_birth",
            "month_of_birth",
            "day_of_birth",
            "birth_datetime",
            "person_source_value",
        ],
        ([p, "8507", "1960", "3", "4", "", f"src{p}"] for p in range(persons)),
    )
    _write_csv(
        root / "MEASUREMENT.csv",
        [
            "measurement_id",
            "person_id",
            "measurement_concept_id",
            "measurement_date",
            "measurement_datetime",
            "value_as_number",
            "unit_concept_id",
            "unit_source_value",
            "visit_occurrence_id",
        ],
        (
            [
                i,
                i % persons,
                str(3000000 + i % 5),
                "2020-01-01",
                "2020-01-01 10:30:00",
                _value(i, 5.8 if i % 5 == 0 else LABS[i % 5][4]),
                "8753" if i % 5 == 0 else "8840",
                "",
                "",
            ]
            for i in range(n - persons)
        ),
    )
    return root


def gen_mimic_iv(root: Path, n: int) -> Path:
    hosp = root / "hosp"
    hosp.mkdir()
    patients = max(1, n // PER_PATIENT)
    admissions = patients
    diagnoses = patients * 3
    _write_csv(
        hosp / "patients.csv.gz",
        ["subject_id", "gender", "anchor_age", "anchor_year", "dod"],
        ([10000000 + p, "F", 60, 2150, ""] for p in range(patients)),
    )
    _write_csv(
        hosp / "admissions.csv.gz",
        ["subject_id", "hadm_id", "admittime", "dischtime", "admission_type"],
        (
            [10000000 + a, 20000000 + a, "2150-01-01 10:00:00", "2150-01-05 12:00:00", "URGENT"]
            for a in range(admissions)
        ),
    )
    _write_csv(
        hosp / "diagnoses_icd.csv.gz",
        ["subject_id", "hadm_id", "seq_num", "icd_code", "icd_version"],
        ([10000000 + d // 3, 20000000 + d // 3, d % 3 + 1, ICD9[d % 5], 9] for d in range(diagnoses)),
    )
    _write_csv(
        hosp / "d_labitems.csv.gz",
        ["itemid", "label", "fluid", "category"],
        ([itemid, label, "Blood", "Chemistry"] for itemid, _, label, _, _ in LABS),
    )
    labs = n - patients - admissions - diagnoses
    _write_csv(
        hosp / "labevents.csv.gz",
        [
            "labevent_id",
            "subject_id",
            "hadm_id",
            "specimen_id",
            "itemid",
            "charttime",
            "storetime",
            "value",
            "valuenum",
            "valueuom",
            "ref_range_lower",
            "ref_range_upper",
            "flag",
        ],
        (
            [
                i,
                10000000 + i % patients,
                20000000 + i % patients,
                i,
                LABS[i % 5][0],
                "2150-01-02 08:00:00",
                "2150-01-02 09:00:00",
                _value(i, LABS[i % 5][4]),
                _value(i, LABS[i % 5][4]),
                LABS[i % 5][3],
                "",
                "",
                "",
            ]
            for i in range(labs)
        ),
    )
    return root


GENERATORS: dict[str, Callable[[Path, int], Path]] = {
    "fhir-ndjson": gen_fhir_ndjson,
    "fhir-bundle": gen_fhir_bundle,
    "fhir-xml": gen_fhir_xml,
    "synthea-csv": gen_synthea_csv,
    "omop-cdm": gen_omop_cdm,
    "mimic-iv": gen_mimic_iv,
}
MODES = ("read+normalize", "fhir-stage")


# -- one measurement, in its own process ---------------------------------------------------------


def _peak_rss_mb() -> dict[str, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"peak_rss_mb": round(own, 1), "peak_rss_worker_mb": round(children, 1)}


def measure(fmt: str, mode: str, path: Path, workers: int, home: Path) -> dict[str, Any]:
    from fhirmony.config import SourceConfig
    from fhirmony.sources import reader_for

    source = SourceConfig(id="bench", country="US", format=fmt, path=path, licence="CC0-1.0")
    start = time.perf_counter()
    if mode == "read+normalize":
        from fhirmony.terminology import CoverageStats, Normalizer

        normalizer, stats = Normalizer.from_environment(), CoverageStats()
        records = errors = 0
        for record in reader_for(source).records():
            records += 1
            if record.resource is None:
                errors += 1
                continue
            normalizer.normalize(record.resource, stats)
        seconds = time.perf_counter() - start
        extra = {"errors": errors, "converted_units": stats.units["converted"]}
    else:
        from fhirmony.fhir.stage import run_fhir_stage
        from fhirmony.home import Home

        result = run_fhir_stage(source, Home(home), workers=workers)
        seconds = time.perf_counter() - start
        records, extra = result.read, {"valid": result.valid, "quarantined": result.quarantined}
    return {
        "format": fmt,
        "mode": mode,
        "records": records,
        "seconds": round(seconds, 2),
        "records_per_s": round(records / seconds) if seconds else None,
        **extra,
        **_peak_rss_mb(),
    }


def _stage_available() -> bool:
    try:
        import fhirmony.fhir.stage  # noqa: F401
    except ImportError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=500_000, help="records per format (default 500000)")
    parser.add_argument("--formats", nargs="*", default=list(GENERATORS), choices=list(GENERATORS))
    parser.add_argument("--modes", nargs="*", default=list(MODES), choices=list(MODES))
    parser.add_argument("--workers", type=int, default=2, help="validation processes for fhir-stage")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--one", nargs=3, metavar=("FORMAT", "MODE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.one:
        fmt, mode, path = args.one
        with tempfile.TemporaryDirectory(prefix="fhirmony-bench-home-") as home:
            print(json.dumps(measure(fmt, mode, Path(path), args.workers, Path(home))))
        return 0

    modes = [m for m in args.modes if m != "fhir-stage" or _stage_available()]
    results = []
    for fmt in args.formats:
        with tempfile.TemporaryDirectory(prefix="fhirmony-bench-") as tmp:
            started = time.perf_counter()
            path = GENERATORS[fmt](Path(tmp), args.records)
            generated = round(time.perf_counter() - started, 1)
            for mode in modes:
                command = [sys.executable, __file__, "--workers", str(args.workers), "--one", fmt, mode, str(path)]
                run = subprocess.run(command, capture_output=True, text=True, check=False)
                if run.returncode != 0:
                    print(f"{fmt} {mode}: failed\n{run.stderr[-2000:]}", file=sys.stderr)
                    results.append({"format": fmt, "mode": mode, "error": run.stderr[-500:]})
                    continue
                row = json.loads(run.stdout.strip().splitlines()[-1]) | {"generate_seconds": generated}
                results.append(row)
                print(
                    f"{fmt:12} {mode:15} {row['records']:>9,} records {row['records_per_s']:>8,}/s "
                    f"peak RSS {row['peak_rss_mb']:>7.1f} MB (workers {row['peak_rss_worker_mb']:.1f} MB)"
                )
    if args.output.exists():  # keep the other formats' rows of an earlier run of the same size
        earlier = json.loads(args.output.read_text(encoding="utf-8"))
        if earlier.get("records_per_format") == args.records:
            kept = [r for r in earlier.get("results", []) if r.get("format") not in args.formats]
            results = kept + results
    report = {
        "benchmark": "ingest",
        "records_per_format": args.records,
        "workers": args.workers,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "results": results,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.output}")
    return 0 if all("error" not in r for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
