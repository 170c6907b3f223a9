"""Benchmark the views engine against a fhirpathpy reference runner and hand-written DuckDB SQL.

    python benchmarks/bench_views.py [--resources 1000000] [--sample 2000] [--output PATH]

1. Generates NDJSON (one file per resource type, MIX proportions) by varying the ids of resources
   made by the embedded demo generator (its US FHIR Bulk NDJSON source, defects off); the types the
   demo does not produce (MedicationStatement, MedicationAdministration) and Observations with
   components come from real resources in ../shared/data (Synthea, HL7 R4 examples).
2. Evaluates every view in schemas/views with the engine (auto: DuckDB SQL for flat views,
   compiled closures otherwise) on 1 and 2 threads, and the compiled Python closures on a sample.
3. Baselines in the same run: a fhirpathpy-based reference evaluator (the approach of existing
   Python runners) on a sample, and a hand-written DuckDB query extracting the same columns
   straight from the NDJSON (top-level elements read as JSON, then JSON-path extraction).
4. Peak RSS of a child process evaluating every view, at two input sizes.
Writes resources/s per view for each, the ratios, and the RSS to benchmarks/results/bench_views.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import orjson

from fhirmony.views import CompiledView

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("FHIRMONY_SHARED", REPO.parent / "shared")).resolve()
VIEWS = REPO / "schemas" / "views"
MIX = {
    "Observation": 0.30, "Encounter": 0.14, "Procedure": 0.12, "Condition": 0.10, "MedicationRequest": 0.10,
    "Immunization": 0.06, "Patient": 0.05, "AllergyIntolerance": 0.04, "MedicationStatement": 0.05,
    "MedicationAdministration": 0.04,
}  # fmt: skip


# ---------------------------------------------------------------- input generation
def _real_resources() -> Iterator[dict]:
    data = SHARED / "data"
    for path in sorted((data / "synthea-bulk-ndjson-10").glob("*.ndjson")):
        for line in path.read_bytes().splitlines():
            if line.strip():
                yield orjson.loads(line)
    for path in sorted((data / "synthea-r4-bundles").glob("*.json")) + sorted(
        (data / "fhir-r4-spec-examples").glob("*.json")
    ):
        document = orjson.loads(path.read_bytes())
        if document.get("resourceType") == "Bundle":
            yield from (e["resource"] for e in document.get("entry", []) if "resource" in e)
        else:
            yield document


def templates() -> dict[str, list[tuple[bytes, bytes]]]:
    """Compact JSON lines of real resources per type, each with the `"id":"..."` fragment to vary."""
    found: dict[str, list[tuple[bytes, bytes]]] = {t: [] for t in MIX}
    for item in _real_resources():
        kind = item.get("resourceType")
        if kind in found and item.get("id"):
            line = orjson.dumps(item)
            found[kind].append((line, b'"id":' + orjson.dumps(item["id"])))
    missing = [k for k, v in found.items() if not v]
    if missing:
        raise SystemExit(f"no real examples of {missing} under {SHARED / 'data'}")
    return found


DEMO_PATIENTS = 2_000  # templates: ~70k resources of the demo's US source
PANEL_SHARE = 0.09


def demo_templates(folder: Path) -> dict[str, list[tuple[bytes, bytes]]]:
    """Compact JSON lines per type from the demo generator's US NDJSON source (defects off)."""
    from fhirmony.demo import generate as generate_demo

    generate_demo(folder, patients=DEMO_PATIENTS, seed=1, sources=["us-ehr"], defect_scale=0.0)
    found: dict[str, list[tuple[bytes, bytes]]] = {}
    for path in sorted((folder / "us-ehr").glob("*.ndjson")):
        for line in path.read_bytes().splitlines():
            item = orjson.loads(line)
            found.setdefault(item["resourceType"], []).append((orjson.dumps(item), b'"id":' + orjson.dumps(item["id"])))
    return found


def generate(folder: Path, total: int, origin: str = "demo") -> dict[str, int]:
    """Write <Type>.ndjson files with `total` resources in MIX proportions; returns counts.

    With origin "demo", resources come from the demo generator, varied by id; types it does not
    produce (medication statements and administrations) and Observations with components (blood
    pressure panels, which the observation_component view unnests) come from real resources in
    ../shared/data. With origin "real", every resource does (mostly Synthea)."""
    folder.mkdir(parents=True, exist_ok=True)
    pools = demo_templates(folder.parent / f"{folder.name}-demo") if origin == "demo" else {}
    real = templates()
    for kind, lines in real.items():
        if kind not in pools:
            pools[kind] = lines
    # Blood pressure panels are 9% of Synthea's Observations; the demo has none: mix them in at that share.
    if origin == "demo":
        panels = [line for line in real["Observation"] if b'"component"' in line[0]]
        share = round(len(pools["Observation"]) * PANEL_SHARE / (1 - PANEL_SHARE))
        pools["Observation"] += [panels[i % len(panels)] for i in range(share)]
    for lines in pools.values():  # so every prefix (the fhirpathpy sample) is representative
        random.Random(0).shuffle(lines)
    counts: dict[str, int] = {}
    for kind in MIX:
        lines = pools[kind]
        count = max(1, round(total * MIX[kind]))
        counts[kind] = count
        with open(folder / f"{kind}.ndjson", "wb") as out:
            chunk: list[bytes] = []
            for i in range(count):
                line, fragment = lines[i % len(lines)]
                chunk.append(line.replace(fragment, fragment[:-1] + f'-{i}"'.encode(), 1))
                if len(chunk) == 10_000:
                    out.write(b"\n".join(chunk) + b"\n")
                    chunk = []
            if chunk:
                out.write(b"\n".join(chunk) + b"\n")
    return counts


# ---------------------------------------------------------------- fhirpathpy reference evaluator
def fhirpathpy_runner(definition: dict) -> Callable[[dict], list[dict]]:
    """A straightforward ViewDefinition interpreter evaluating every path with fhirpathpy."""
    import fhirpathpy
    from fhirpathpy.models import models

    def resource_key(inputs: list) -> list:
        return [i["id"] for i in inputs if isinstance(i, dict) and "id" in i]

    def reference_key(inputs: list, kind: object = None) -> list:
        wanted = getattr(kind, "name", None) or (str(kind) if kind else None)
        out = []
        for ref in inputs:
            text = ref.get("reference", "") if isinstance(ref, dict) else ""
            parts = text.split("/")
            if text.startswith("urn:uuid:"):
                out.append(text[9:])
            elif len(parts) >= 2 and (wanted is None or parts[-2] == wanted):
                out.append(parts[-1])
        return out

    options = {
        "userInvocationTable": {
            "getResourceKey": {"fn": resource_key, "arity": {0: []}},
            "getReferenceKey": {"fn": reference_key, "arity": {0: [], 1: ["TypeSpecifier"]}},
        }
    }
    model = models["r4"]
    compiled: dict[str, Callable] = {}

    def run(path: str, node: object, variables: dict) -> list:
        if path not in compiled:
            compiled[path] = fhirpathpy.compile(path, model, options)
        return compiled[path](node, variables)

    def select(sel: dict, node: object, variables: dict) -> list[dict]:
        foci, iterating = [node], False
        if "forEach" in sel or "forEachOrNull" in sel:
            foci, iterating = run(sel.get("forEach") or sel["forEachOrNull"], node, variables), True
        rows: list[dict] = []
        for index, focus in enumerate(foci):
            scope = {**variables, "rowIndex": index} if iterating else variables
            first = {
                c["name"]: (lambda v: v[0] if v else None)(run(c["path"], focus, scope)) for c in sel.get("column", [])
            }
            parts = [[first]]
            parts += [select(s, focus, scope) for s in sel.get("select", [])]
            if sel.get("unionAll"):
                parts.append([r for u in sel["unionAll"] for r in select(u, focus, scope)])
            combined = [{}]
            for part in parts:
                combined = [{**a, **b} for a in combined for b in part]
            rows.extend(combined)
        return rows

    def evaluate(item: dict) -> list[dict]:
        if item.get("resourceType") != definition["resource"]:
            return []
        variables = {"resource": item, "rowIndex": 0}
        if any(run(w["path"], item, variables) != [True] for w in definition.get("where", [])):
            return []
        return select({"select": definition["select"]}, item, variables)

    return evaluate


# ---------------------------------------------------------------- hand-written DuckDB baselines
def _s(column: str, path: str = "$") -> str:
    return f"json_extract_string({column}, '{path}')"


def _t(column: str, path: str) -> str:
    return f"TRY_CAST({_s(column, path)} AS TIMESTAMPTZ)"


def _ref(column: str, path: str = "$.reference") -> str:
    return f"regexp_extract({_s(column, path)}, '([^/:]+)$')"


def _coded(column: str, path: str = "$") -> list[str]:
    return [_s(column, f"{path}.coding[0].{k}") for k in ("code", "system", "display")]


def _where_code(column: str, system: str) -> str:
    return f"list_filter(json_extract({column}, '$.coding[*]'), lambda c: c->>'system' = '{system}')[1]->>'code'"


RX, ATC = "http://www.nlm.nih.gov/research/umls/rxnorm", "http://www.whocc.no/atc"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
MED = ["medicationCodeableConcept", "medicationReference"]
MED_SQL = [*_coded("medicationCodeableConcept"), _where_code("medicationCodeableConcept", RX),
           _where_code("medicationCodeableConcept", ATC), _s("medicationCodeableConcept", "$.text"),
           _ref("medicationReference")]  # fmt: skip
DOSE = ["value", "unit", "code"]
BASELINES: dict[str, tuple[list[str], list[str]]] = {
    # view: (top-level elements read as JSON, hand-written select list)
    "patient": (["id", "gender", "birthDate", "deceasedBoolean", "deceasedDateTime", "maritalStatus", "address"], [
        _s("id"), _s("id"), _s("gender"), f"TRY_CAST({_s('birthDate')} AS DATE)",
        "coalesce(deceasedDateTime IS NOT NULL, TRY_CAST(deceasedBoolean AS BOOLEAN))", _t("deceasedDateTime", "$"),
        _s("maritalStatus", "$.coding[0].code"), _s("address", "$[0].country"), _s("address", "$[0].state"),
        _s("address", "$[0].postalCode")]),
    "encounter": (["id", "subject", "status", "class", "type", "period", "reasonCode", "serviceProvider"], [
        _s("id"), _ref("subject"), _s("status"), _s("class", "$.code"), _s("class", "$.system"),
        _s("type", "$[0].coding[0].code"), _s("type", "$[0].coding[0].system"), _s("type", "$[0].coding[0].display"),
        _t("period", "$.start"), _t("period", "$.end"), _s("reasonCode", "$[0].coding[0].code"),
        _s("reasonCode", "$[0].coding[0].system"), _ref("serviceProvider")]),
    "condition": (["id", "subject", "encounter", "clinicalStatus", "verificationStatus", "category", "code",
                   "onsetDateTime", "abatementDateTime", "recordedDate"], [
        _s("id"), _ref("subject"), _ref("encounter"), _s("clinicalStatus", "$.coding[0].code"),
        _s("verificationStatus", "$.coding[0].code"), _s("category", "$[0].coding[0].code"), *_coded("code"),
        _where_code("code", ICD10CM), _s("code", "$.text"), _t("onsetDateTime", "$"), _t("abatementDateTime", "$"),
        _t("recordedDate", "$")]),
    "observation": (["id", "subject", "encounter", "status", "category", "code", "valueQuantity",
                     "valueCodeableConcept", "valueString", "valueBoolean", "interpretation", "effectiveDateTime",
                     "effectivePeriod", "effectiveInstant", "issued"], [
        _s("id"), _ref("subject"), _ref("encounter"), _s("status"), _s("category", "$[0].coding[0].code"),
        *_coded("code"), _s("code", "$.text"), f"TRY_CAST({_s('valueQuantity', '$.value')} AS DOUBLE)",
        *[_s("valueQuantity", f"$.{k}") for k in ("unit", "code", "system")],
        _s("valueCodeableConcept", "$.coding[0].code"), _s("valueCodeableConcept", "$.coding[0].system"),
        _s("valueString"), "TRY_CAST(valueBoolean AS BOOLEAN)", _s("interpretation", "$[0].coding[0].code"),
        f"coalesce({_t('effectiveDateTime', '$')}, {_t('effectivePeriod', '$.start')}, {_t('effectiveInstant', '$')})",
        _t("issued", "$")]),
    "medication_request": (["id", "subject", "encounter", "status", "intent", "category", *MED, "authoredOn",
                            "dosageInstruction", "dispenseRequest", "reasonCode", "reasonReference", "requester"], [
        _s("id"), _ref("subject"), _ref("encounter"), _s("status"), _s("intent"),
        _s("category", "$[0].coding[0].code"), *MED_SQL, _t("authoredOn", "$"),
        f"TRY_CAST({_s('dosageInstruction', '$[0].doseAndRate[0].doseQuantity.value')} AS DOUBLE)",
        *[_s("dosageInstruction", f"$[0].doseAndRate[0].doseQuantity.{k}") for k in ("unit", "code")],
        f"TRY_CAST({_s('dosageInstruction', '$[0].timing.repeat.frequency')} AS BIGINT)",
        f"TRY_CAST({_s('dosageInstruction', '$[0].timing.repeat.period')} AS DOUBLE)",
        _s("dosageInstruction", "$[0].timing.repeat.periodUnit"),
        f"TRY_CAST({_s('dosageInstruction', '$[0].asNeededBoolean')} AS BOOLEAN)",
        _s("dosageInstruction", "$[0].route.coding[0].code"), _t("dispenseRequest", "$.validityPeriod.start"),
        _t("dispenseRequest", "$.validityPeriod.end"), _s("reasonCode", "$[0].coding[0].code"),
        _ref("reasonReference", "$[0].reference"), _ref("requester")]),
    "medication_statement": (["id", "subject", "context", "status", "category", *MED, "effectiveDateTime",
                              "effectivePeriod", "dateAsserted", "dosage", "reasonCode"], [
        _s("id"), _ref("subject"), _ref("context"), _s("status"), _s("category", "$.coding[0].code"), *MED_SQL,
        f"coalesce({_t('effectiveDateTime', '$')}, {_t('effectivePeriod', '$.start')})",
        _t("effectivePeriod", "$.end"), _t("dateAsserted", "$"),
        f"TRY_CAST({_s('dosage', '$[0].doseAndRate[0].doseQuantity.value')} AS DOUBLE)",
        *[_s("dosage", f"$[0].doseAndRate[0].doseQuantity.{k}") for k in ("unit", "code")],
        _s("dosage", "$[0].route.coding[0].code"), _s("reasonCode", "$[0].coding[0].code")]),
    "medication_administration": (["id", "subject", "context", "status", "category", *MED, "effectiveDateTime",
                                   "effectivePeriod", "dosage", "request"], [
        _s("id"), _ref("subject"), _ref("context"), _s("status"), _s("category", "$.coding[0].code"), *MED_SQL,
        f"coalesce({_t('effectiveDateTime', '$')}, {_t('effectivePeriod', '$.start')})",
        _t("effectivePeriod", "$.end"), f"TRY_CAST({_s('dosage', '$.dose.value')} AS DOUBLE)",
        _s("dosage", "$.dose.unit"), _s("dosage", "$.dose.code"), _s("dosage", "$.route.coding[0].code"),
        _ref("request")]),
    "procedure": (["id", "subject", "encounter", "status", "category", "code", "performedDateTime",
                   "performedPeriod", "bodySite", "reasonCode"], [
        _s("id"), _ref("subject"), _ref("encounter"), _s("status"), _s("category", "$.coding[0].code"),
        *_coded("code"), _s("code", "$.text"),
        f"coalesce({_t('performedDateTime', '$')}, {_t('performedPeriod', '$.start')})",
        _t("performedPeriod", "$.end"), _s("bodySite", "$[0].coding[0].code"),
        _s("reasonCode", "$[0].coding[0].code")]),
    "immunization": (["id", "patient", "encounter", "status", "vaccineCode", "occurrenceDateTime", "recorded",
                      "primarySource", "lotNumber", "doseQuantity", "site", "route"], [
        _s("id"), _ref("patient"), _ref("encounter"), _s("status"), *_coded("vaccineCode"),
        _t("occurrenceDateTime", "$"), _t("recorded", "$"), "TRY_CAST(primarySource AS BOOLEAN)", _s("lotNumber"),
        f"TRY_CAST({_s('doseQuantity', '$.value')} AS DOUBLE)", _s("doseQuantity", "$.unit"),
        _s("site", "$.coding[0].code"), _s("route", "$.coding[0].code")]),
    "allergy": (["id", "patient", "encounter", "clinicalStatus", "verificationStatus", "type", "category",
                 "criticality", "code", "onsetDateTime", "recordedDate", "reaction"], [
        _s("id"), _ref("patient"), _ref("encounter"), _s("clinicalStatus", "$.coding[0].code"),
        _s("verificationStatus", "$.coding[0].code"), _s("type"), _s("category", "$[0]"), _s("criticality"),
        *_coded("code"), _s("code", "$.text"), _t("onsetDateTime", "$"), _t("recordedDate", "$"),
        _s("reaction", "$[0].manifestation[0].coding[0].code"), _s("reaction", "$[0].severity")]),
}  # fmt: skip


def duckdb_baseline(view: str, path: Path, threads: int) -> Clock:
    """Run the hand-written query of `view` over `path`."""
    elements, select = BASELINES[view]
    columns = ", ".join(f"\"{e}\": 'JSON'" for e in elements)
    query = f"SELECT {', '.join(select)} FROM read_json('{path}', format='newline_delimited', columns={{{columns}}})"
    return _time_query(query, threads)


# ---------------------------------------------------------------- measurements
def _lines(path: Path, limit: int) -> list[dict]:
    out = []
    with open(path, "rb") as handle:
        for line in handle:
            out.append(orjson.loads(line))
            if len(out) >= limit:
                break
    return out


def _head(path: Path, limit: int, folder: Path) -> Path:
    sample = folder / f"sample-{limit}-{path.name}"
    with open(path, "rb") as src, open(sample, "wb") as dst:
        for i, line in enumerate(src):
            if i >= limit:
                break
            dst.write(line)
    return sample


def _count(path: Path) -> int:
    with open(path, "rb") as handle:
        return sum(1 for _ in handle)


def _best(runs: list[float], count: int) -> int:
    """Resources/s of the fastest run (the machine is shared: the minimum time is the least disturbed)."""
    return round(count / min(runs))


ENCOUNTER_AUTO = """SELECT id, subject.reference, status, class.code, class.system, type[1].coding[1].code,
    type[1].coding[1].system, type[1].coding[1].display, TRY_CAST(period.start AS TIMESTAMPTZ),
    TRY_CAST(period."end" AS TIMESTAMPTZ), reasonCode[1].coding[1].code, reasonCode[1].coding[1].system,
    serviceProvider.reference FROM read_json('{path}', format='newline_delimited')"""


def _has_elements(path: Path, elements: tuple[str, ...]) -> bool:
    """Whether the first resources of a file carry these elements (read_json's auto schema needs them)."""
    head = _lines(path, 1000)
    return all(any(element in item for item in head) for element in elements)


class Clock:
    """Wall-clock and process CPU time (all threads) of one run."""

    def __enter__(self) -> Clock:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


def _time_query(query: str, threads: int) -> Clock:
    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    con.execute("SET TimeZone = 'UTC'")
    with Clock() as clock:
        sum(b.num_rows for b in con.sql(query).to_arrow_reader(10_000))
    return clock


def _record(runs: dict[str, list[float]], name: str, clock: Clock, threads: int) -> None:
    runs.setdefault(f"{name}_{threads}t_per_s", []).append(clock.wall)
    if threads == 1:
        runs.setdefault(f"{name}_per_cpu_s", []).append(clock.cpu)


def measure_view(view: CompiledView, data: Path, args: argparse.Namespace) -> dict:
    """Resources/s per wall-clock second (1 and 2 threads) and per CPU-second (1 thread) of the
    engine and the baselines; CPU time is the stable per-core measure on a shared machine."""
    path = data / f"{view.resource}.ndjson"
    count = _count(path)
    path_name = "duckdb-sql" if view.sql_plan else "python-closures"
    result: dict = {"resource": view.resource, "resources": count, "engine_path": path_name}
    runs: dict[str, list[float]] = {}
    for _ in range(args.repeat):  # interleave engine and baselines so load changes hit both alike
        for threads in (1, 2):
            with Clock() as clock:
                result["rows"] = sum(b.table.num_rows for b in view.evaluate_ndjson([path], threads=threads))
            _record(runs, "engine", clock, threads)
            if view.name in BASELINES:
                _record(runs, "duckdb_handwritten", duckdb_baseline(view.name, path, threads), threads)
            if view.name == "encounter" and _has_elements(path, ("type", "reasonCode", "serviceProvider")):
                _record(runs, "duckdb_auto_read_json", _time_query(ENCOUNTER_AUTO.format(path=path), threads), threads)
    result.update({key: _best(times, count) for key, times in runs.items()})
    sample = _head(path, args.python_sample, data)
    with Clock() as clock:
        list(view.evaluate_ndjson([sample], engine="python"))
    result["python_closures_per_cpu_s"] = round(min(count, args.python_sample) / clock.cpu)
    resources = _lines(path, args.sample)
    reference = fhirpathpy_runner(view.definition)
    with Clock() as clock:
        for item in resources:
            reference(item)
    result["fhirpathpy_per_cpu_s"] = round(len(resources) / clock.cpu)
    result["speedup_vs_fhirpathpy_per_core"] = round(result["engine_per_cpu_s"] / result["fhirpathpy_per_cpu_s"], 1)
    result["python_closures_vs_fhirpathpy"] = round(
        result["python_closures_per_cpu_s"] / result["fhirpathpy_per_cpu_s"], 1
    )
    if "duckdb_handwritten_per_cpu_s" in result:
        result["duckdb_handwritten_over_engine_per_core"] = round(
            result["duckdb_handwritten_per_cpu_s"] / result["engine_per_cpu_s"], 2
        )
        for threads in (1, 2):
            result[f"duckdb_handwritten_over_engine_{threads}t_wall"] = round(
                result[f"duckdb_handwritten_{threads}t_per_s"] / result[f"engine_{threads}t_per_s"], 2
            )
    return result


def rss_child(data: Path) -> None:
    """Child process: evaluate every view over `data` and print the peak RSS in MB."""
    from fhirmony.views import load_views

    rows = 0
    for view in load_views(VIEWS):
        path = data / f"{view.resource}.ndjson"
        if path.exists():
            rows += sum(b.table.num_rows for b in view.evaluate_ndjson([path]))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rows": rows, "peak_rss_mb": round(peak, 1)}))


def measure_rss(size: int, folder: Path, origin: str) -> dict:
    data = folder / f"rss-{size}"
    generate(data, size, origin)
    started = time.perf_counter()
    output = subprocess.run(
        [sys.executable, __file__, "--rss-child", str(data)], check=True, capture_output=True, text=True
    ).stdout
    report = json.loads(output.strip().splitlines()[-1])
    return {"resources": size, **report, "seconds": round(time.perf_counter() - started, 1)}


def markdown(report: dict) -> str:
    """The results as a Markdown table (for docs/views.md)."""

    def n(value: object) -> str:
        return f"{value:,}" if isinstance(value, int) else str(value if value is not None else "-")

    lines = [
        "| view | engine path | engine /CPU-s | hand-written DuckDB /CPU-s | DuckDB ÷ engine | "
        "engine 2 threads /s | DuckDB 2 threads /s | fhirpathpy /CPU-s | engine ÷ fhirpathpy |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in report["views"].items():
        cells = [
            name, r["engine_path"], n(r["engine_per_cpu_s"]), n(r.get("duckdb_handwritten_per_cpu_s")),
            n(r.get("duckdb_handwritten_over_engine_per_core")), n(r["engine_2t_per_s"]),
            n(r.get("duckdb_handwritten_2t_per_s")), n(r["fhirpathpy_per_cpu_s"]),
            n(r["speedup_vs_fhirpathpy_per_core"]),
        ]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resources", type=int, default=1_000_000, help="total generated resources")
    parser.add_argument(
        "--input",
        choices=("demo", "real"),
        default="demo",
        help="resources from the demo generator (default) or only real ones from ../shared/data (mostly Synthea)",
    )
    parser.add_argument("--sample", type=int, default=3_000, help="resources per view for fhirpathpy")
    parser.add_argument("--python-sample", type=int, default=20_000, help="resources per view for the closures")
    parser.add_argument("--output", default=str(REPO / "benchmarks" / "results" / "bench_views.json"))
    parser.add_argument("--repeat", type=int, default=5, help="interleaved runs per view; the best counts")
    parser.add_argument("--workdir", help="where to generate input (default: a temporary folder)")
    parser.add_argument("--views", help="comma-separated view names to measure (default: all)")
    parser.add_argument("--no-rss", action="store_true", help="skip the peak-RSS measurement")
    parser.add_argument("--markdown", help="print the table of an existing results JSON and exit")
    parser.add_argument("--rss-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.markdown:
        print(markdown(json.loads(Path(args.markdown).read_text())))
        return 0
    if args.rss_child:
        rss_child(Path(args.rss_child))
        return 0
    from fhirmony.views import load_views

    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        counts = generate(folder / "data", args.resources, args.input)
        print(f"generated {sum(counts.values())} resources in {time.perf_counter() - started:.1f}s", flush=True)
        views = {}
        wanted = set(args.views.split(",")) if args.views else None
        for view in load_views(VIEWS):
            if wanted is not None and view.name not in wanted:
                continue
            views[view.name] = measure_view(view, folder / "data", args)
            print(view.name, json.dumps(views[view.name]), flush=True)
        sizes = sorted({max(1000, args.resources // 10), args.resources})
        memory = [] if args.no_rss else [measure_rss(size, folder, args.input) for size in sizes]
        print("rss", json.dumps(memory), flush=True)
    report = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "duckdb": duckdb.__version__},
        "input": args.input,
        "generated": counts,
        "notes": "resources/s = input resources of the view's type per second. *_per_cpu_s: per CPU-second of "
        "the process on one thread (the per-core measure; stable on a shared machine); *_1t/_2t_per_s: per "
        "wall-clock second with 1/2 DuckDB threads. Best of --repeat interleaved runs. fhirpathpy is measured "
        "on the first --sample resources, python_closures on --python-sample.",
        "views": views,
        "peak_rss": memory,
    }
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
