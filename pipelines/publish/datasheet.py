"""`datasheet.md` and `datasheet.html`: Datasheets for Datasets (Gebru et al.), all seven sections.

Each question is answered from facts read from the release folder where the release can answer it
(manifest.json, the Parquet, quality/results.json, the privacy report), and from the steward's
YAML answers (`release.datasheet` in fhirmony.yaml) for the rest. Questions nobody answered are
marked **Unanswered** with the YAML key that answers them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import yaml

from fhirmony.api import read_manifest, read_quality, release_facts
from fhirmony.publish.licences import LICENCE_URLS

VALIDATION = (
    "Every resource was validated with fhir.resources R4B (the FHIR 4.3.0 models) for R4 content: "
    "fhir.resources has no pydantic-v2 R4 models, and R4B is structurally compatible with R4 for the "
    "resources used. Value sets are not enforced by the validator; the quality checks cover them."
)
SECTIONS = {
    "motivation": "Motivation",
    "composition": "Composition",
    "collection": "Collection process",
    "preprocessing": "Preprocessing, cleaning and labelling",
    "uses": "Uses",
    "distribution": "Distribution",
    "maintenance": "Maintenance",
}


@dataclass(frozen=True)
class Table:
    """A small table inside an answer."""

    header: list[str]
    rows: list[list[Any]]


Fact = str | Table
Facts = dict[str, Any]


@dataclass(frozen=True)
class Answer:
    key: str
    question: str
    facts: list[Fact]
    steward: str | None

    @property
    def answered(self) -> bool:
        return bool(self.facts or self.steward)


def flatten_answers(answers: Mapping[str, Any] | None) -> dict[str, Any]:
    """`{motivation: {purpose: ...}}` and `{"motivation.purpose": ...}` both become dotted keys."""
    flat: dict[str, Any] = {}
    for key, value in (answers or {}).items():
        if isinstance(value, Mapping):
            for sub, text in flatten_answers(value).items():
                flat[f"{key}.{sub}"] = text
        else:
            flat[str(key)] = value
    return flat


def load_answers(path: Path | None) -> dict[str, Any]:
    """The steward's YAML answers (empty when there is no file)."""
    if path is None or not Path(path).is_file():
        return {}
    return flatten_answers(yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {})


# --- facts: each takes the gathered facts and returns what the release itself can say ---------------


def _instances(f: Facts) -> list[Fact]:
    return [
        "Each row of a table is one FHIR resource (or one repeated element of it) flattened by a SQL-on-FHIR v2 "
        "ViewDefinition; tables of patient data carry a pseudonymous patient_id.",
        Table(
            ["table", "rows", "patients", "columns"],
            [[name, t["rows"], t.get("patients", ""), len(t["columns"])] for name, t in f["tables"].items()],
        ),
    ]


def _count(f: Facts) -> list[Fact]:
    countries = f["countries"]
    rows = [[name, *[t["rows_by_country"].get(c, 0) for c in countries], t["rows"]] for name, t in f["tables"].items()]
    return [
        f"{f['records']} rows in {len(f['tables'])} tables about {f['individuals']} individuals, "
        f"from {len(f['sources'])} sources in {len(countries)} countries.",
        Table(["table", *countries, "total"], rows),
    ]


def _sample(f: Facts) -> list[Fact]:
    return [
        "The release contains every record of each configured source that passed validation; records that "
        "failed are quarantined with their reason, and patients may be suppressed by the privacy profile "
        f"({_suppressed(f)})."
    ]


def _suppressed(f: Facts) -> str:
    suppression = (f["privacy"].get("risk") or {}).get("suppression") or {}
    if not suppression.get("enabled"):
        return "suppression is off in this release"
    return f"{suppression.get('patients_suppressed', 0)} patients suppressed in this release"


def _data(f: Facts) -> list[Fact]:
    rows = [[name, ", ".join(f"{c['name']} ({c['type']})" for c in t["columns"])] for name, t in f["tables"].items()]
    return [Table(["table", "columns (Arrow type)"], rows)]


def _labels(f: Facts) -> list[Fact]:
    return [
        "No target label is defined. Clinical codes, values and outcomes are features a study may choose "
        "as targets; the `split` column assigns each patient to train, validation or test."
    ]


def _missing(f: Facts) -> list[Fact]:
    rows = [
        [name, column, f"{share:.1%}"]
        for name, t in f["tables"].items()
        for column, share in t.get("missing", {}).items()
        if share > 0
    ]
    if not rows:
        return ["No column has missing values."]
    return [
        "Share of null values per column (columns not listed are complete):",
        Table(["table", "column", "null"], rows),
    ]


def _relationships(f: Facts) -> list[Fact]:
    return [
        "Rows link through pseudonymised references: `patient_id` to `patient.id`, `encounter_id` to "
        "`encounter.id`, and other `*_id` columns to their tables. Pseudonyms are namespaced by `source_id`, "
        "so ids of different sources never collide."
    ]


def _splits(f: Facts) -> list[Fact]:
    shares = f["privacy"].get("split_ratios") or {}
    ratios = " / ".join(f"{name} {shares[name]}" for name in ("train", "validation", "test") if name in shares)
    out: list[Fact] = [
        "Patient-level splits, deterministic from the patient pseudonym (stable across releases made with the "
        f"same key), in proportions {ratios or 'train/validation/test'} within every country; all rows of a "
        "patient share the patient's split."
    ]
    if f["patients_by_split"]:
        counts = f["patients_by_split"]
        out.append(
            Table(["split", "patients"], [[k, counts[k]] for k in ("train", "validation", "test") if k in counts])
        )
    return out


def _errors(f: Facts) -> list[Fact]:
    out: list[Fact] = []
    counts = [_source_counts(s) for s in f["sources"]]
    if any(row[1:] != ["", "", ""] for row in counts):
        out += [
            "FHIR resources read, valid and quarantined (rejected with the reason, file and line) per source:",
            Table(["source", "read", "valid", "quarantined"], counts),
        ]
    quality = f["quality"]
    if quality["checks"]:
        out.append(
            f"{quality['checks']} quality checks ran: "
            + ", ".join(f"{n} {status}" for status, n in sorted(quality["by_status"].items()))
            + ". Failed checks by severity: "
            + (", ".join(f"{n} {s}" for s, n in sorted(quality["failed_by_severity"].items())) or "none")
            + ". Details: quality/results.json and quality/report.html."
        )
        failed = [r for r in f["quality_results"] if r.get("status") == "failed"][:20]
        if failed:
            out.append(
                Table(
                    ["check", "table", "field", "source", "severity", "violating", "total"],
                    [
                        [
                            r.get("check"),
                            r.get("table"),
                            r.get("field"),
                            r.get("source_id"),
                            r.get("severity"),
                            r.get("violating"),
                            r.get("total"),
                        ]
                        for r in failed
                    ],
                )
            )
    return out


def _source_counts(source: Mapping[str, Any]) -> list[Any]:
    counts = source.get("counts") or {}
    valid = counts.get("valid", counts.get("harmonized", ""))
    return [source.get("id"), counts.get("read", ""), valid, counts.get("quarantined", "")]


def _external(f: Facts) -> list[Fact]:
    systems = ", ".join(f["coding_systems"]) or "none recorded"
    return [f"Self-contained: the Parquet files hold all values. Codes refer to external code systems: {systems}."]


def _privacy(f: Facts) -> list[Fact]:
    privacy = f["privacy"]
    if not privacy:
        return []
    return [f"Privacy profile `{privacy.get('profile')}`: {privacy.get('description', '')}"]


def _confidential(f: Facts) -> list[Fact]:
    return [
        "Yes: health data (a special category under GDPR Art. 9). Direct identifiers and free text are removed "
        "and ids pseudonymised before release.",
        *_privacy(f),
    ]


def _offensive(f: Facts) -> list[Fact]:
    return [
        "No free text is released (notes, narratives and names are outside the column allow-list); values "
        "are codes, numbers, dates and short categorical strings."
    ]


def _subpopulations(f: Facts) -> list[Fact]:
    patient = {c["name"] for c in f["tables"].get("patient", {}).get("columns", [])}
    present = [c for c in ("gender", "birth_date", "country", "state", "region", "deceased") if c in patient]
    if not present:
        return []
    return [
        f"Yes, by {', '.join(present)} in the patient table; the quasi-identifiers used to measure "
        "re-identification risk are listed below."
    ]


def _identifiable(f: Facts) -> list[Fact]:
    risk = f["privacy"].get("risk") or {}
    if not risk:
        return []
    l_div = risk.get("l_diversity") or {}
    return [
        f"Re-identification risk over the quasi-identifiers {', '.join(risk.get('quasi_identifiers', []))}: "
        f"k-anonymity k = {risk.get('k')} over {risk.get('classes')} classes of {risk.get('patients')} patients; "
        f"{risk.get('patients_below_k')} patients are in {risk.get('classes_below_k')} classes smaller than "
        f"k = {risk.get('k_threshold')}; {_suppressed(f)}. "
        f"l-diversity of {l_div.get('attribute')}: l = {l_div.get('l')}.",
        *(
            [f"Quasi-identifiers absent from the data: {', '.join(risk['quasi_identifiers_missing'])}."]
            if risk.get("quasi_identifiers_missing")
            else []
        ),
    ]


def _acquisition(f: Facts) -> list[Fact]:
    return [
        "Secondary use of existing datasets; nothing was collected from individuals for this release.",
        Table(
            ["source", "country", "format", "licence"],
            [[s.get("name") or s.get("id"), s.get("country"), s.get("format"), s.get("licence")] for s in f["sources"]],
        ),
    ]


def _mechanisms(f: Facts) -> list[Fact]:
    return [
        "fhirmony reads each source in its own format (FHIR NDJSON, Bundles, Synthea CSV, OMOP CDM, MIMIC-IV "
        "or CSV with a mapping), maps it to FHIR R4 and validates every resource. " + VALIDATION
    ]


def _timeframe(f: Facts) -> list[Fact]:
    if not f.get("time_range"):
        return []
    shift = f["privacy"].get("date_shift_max_days")
    note = f" Dates are shifted per patient by up to {shift} days, so this range is approximate." if shift else ""
    return [f"Clinical dates span {f['time_range'][0]} to {f['time_range'][1]}.{note}"]


def _direct(f: Facts) -> list[Fact]:
    return ["Obtained from the source datasets listed under acquisition (third parties), not from individuals."]


def _preprocessing(f: Facts) -> list[Fact]:
    steps = [
        "mapped to FHIR R4 resources; invalid records quarantined with reason, file and line",
        VALIDATION,
        "codes normalized (ICD-9-CM to ICD-10-CM via the CMS GEM crosswalk; LOINC, SNOMED CT, ATC, RxNorm "
        "system URIs) and units converted to UCUM",
        "flattened into typed tables by SQL-on-FHIR v2 ViewDefinitions, with provenance columns",
        *(f["privacy"].get("steps") or []),
    ]
    return ["\n".join(f"{i}. {s}" for i, s in enumerate(steps, 1))]


def _raw(f: Facts) -> list[Fact]:
    return [
        "The raw sources are not part of the release. The data controller keeps them with landing manifests "
        "(sha256 of every source file) and the quarantine of rejected records."
    ]


def _software(f: Facts) -> list[Fact]:
    return ["fhirmony (Apache-2.0), a Dagster asset graph; validation with fhir.resources R4B 4.3.0 models."]


def _risks(f: Facts) -> list[Fact]:
    privacy = f["privacy"]
    notes = []
    if privacy.get("date_shift_max_days"):
        notes.append(
            "dates are shifted per patient: intervals within a patient hold, but calendar effects "
            "(seasons, weekdays, holidays) and alignment between patients do not"
        )
    elif privacy:
        notes.append("dates are reduced to years: only yearly resolution is available")
    notes.append("patients come from a few sources and countries, each with its own coding and care setting")
    return ["; ".join(notes).capitalize() + "."]


def _how(f: Facts) -> list[Fact]:
    return [
        "As a release folder: data/<table>/country=XX/*.parquet (hive partitioning, zstd), catalog.duckdb, "
        "manifest.json with the sha256 of every file, this datasheet and croissant.json. Researchers use "
        "`fhirmony describe`, `fhirmony query` or `fhirmony.load(release, table, countries=, split=)`."
    ]


def _when(f: Facts) -> list[Fact]:
    return [f"Release {f['id']} (version {f.get('version')}) was created {f.get('created')}."]


def _licence(f: Facts) -> list[Fact]:
    licence = f.get("licence")
    if not licence:
        return []
    out: list[Fact] = [f"{licence} ({LICENCE_URLS.get(licence, 'see the licence text')})."]
    if f.get("attribution"):
        out.append(f["attribution"])
    return out


def _third_party_ip(f: Facts) -> list[Fact]:
    return [
        "Source licences: " + "; ".join(f"{s.get('id')}: {s.get('licence')}" for s in f["sources"]) + ". "
        "Code systems (e.g. SNOMED CT, LOINC) carry their owners' terms of use."
    ]


def _contact(f: Facts) -> list[Fact]:
    contact = f["manifest"].get("contact")
    return [f"{contact}"] if contact and contact != "unknown" else []


def _who(f: Facts) -> list[Fact]:
    publisher = f["manifest"].get("publisher")
    return [f"Published by {publisher}."] if publisher and publisher != "unknown" else []


def _updates(f: Facts) -> list[Fact]:
    return [
        "Releases are immutable: every run makes a new release id. `fhirmony diff A B` reports rows per table "
        "and country, schema and quality changes between releases."
    ]


def _older(f: Facts) -> list[Fact]:
    return ["Older releases stay in place under releases/<id>/ with their manifest; nothing is overwritten."]


def _contribute(f: Facts) -> list[Fact]:
    return [
        "New sources are declared in fhirmony.yaml (and a mapping YAML for new CSV formats) and appear in the "
        "next release; contact the steward to contribute data."
    ]


def _creators(f: Facts) -> list[Fact]:
    return _who(f)


def _purpose(f: Facts) -> list[Fact]:
    description = f["manifest"].get("description")
    return [description] if description else []


Q = tuple[str, str, Callable[[Facts], list[Fact]] | None]
QUESTIONS: list[Q] = [
    ("motivation.purpose", "For what purpose was the dataset created? Was there a specific task or gap?", _purpose),
    ("motivation.creators", "Who created the dataset, and on behalf of which entity?", _creators),
    ("motivation.funding", "Who funded the creation of the dataset?", None),
    ("motivation.comments", "Any other comments?", None),
    ("composition.instances", "What do the instances that comprise the dataset represent?", _instances),
    ("composition.count", "How many instances are there in total (of each type)?", _count),
    ("composition.sample", "Does the dataset contain all possible instances or is it a sample?", _sample),
    ("composition.data", "What data does each instance consist of?", _data),
    ("composition.labels", "Is there a label or target associated with each instance?", _labels),
    ("composition.missing", "Is any information missing from individual instances?", _missing),
    ("composition.relationships", "Are relationships between individual instances made explicit?", _relationships),
    ("composition.splits", "Are there recommended data splits?", _splits),
    ("composition.errors", "Are there any errors, sources of noise, or redundancies in the dataset?", _errors),
    ("composition.external", "Is the dataset self-contained, or does it rely on external resources?", _external),
    ("composition.confidential", "Does the dataset contain data that might be considered confidential?", _confidential),
    ("composition.offensive", "Does the dataset contain data that might be offensive or cause anxiety?", _offensive),
    ("composition.subpopulations", "Does the dataset identify subpopulations (e.g. by age, gender)?", _subpopulations),
    ("composition.identifiable", "Is it possible to identify individuals, directly or indirectly?", _identifiable),
    ("composition.sensitive", "Does the dataset contain data that might be considered sensitive?", _confidential),
    ("composition.biases", "Which biases are known in the data (selection, coding, care setting)?", None),
    ("collection.acquisition", "How was the data associated with each instance acquired?", _acquisition),
    ("collection.mechanisms", "What mechanisms or procedures were used to collect the data?", _mechanisms),
    ("collection.sampling", "If the dataset is a sample, what was the sampling strategy?", None),
    ("collection.who", "Who was involved in the data collection process, and how were they compensated?", None),
    ("collection.timeframe", "Over what timeframe was the data collected?", _timeframe),
    ("collection.ethics", "Were any ethical review processes conducted?", None),
    ("collection.direct", "Was the data collected from individuals directly, or via third parties?", _direct),
    ("collection.notified", "Were the individuals in question notified about the data collection?", None),
    ("collection.consent", "Did the individuals consent to the collection and use of their data?", None),
    ("collection.revoke", "Is there a mechanism to revoke consent in the future or for certain uses?", None),
    ("collection.impact", "Was the impact on data subjects analysed (e.g. a DPIA)?", None),
    ("preprocessing.done", "Was any preprocessing, cleaning or labelling of the data done?", _preprocessing),
    ("preprocessing.raw", "Was the raw data saved in addition to the preprocessed data?", _raw),
    ("preprocessing.software", "Is the software used to preprocess the data available?", _software),
    ("uses.already", "Has the dataset been used for any tasks already?", None),
    ("uses.repository", "Is there a repository that links to papers or systems that use the dataset?", None),
    ("uses.tasks", "What (other) tasks could the dataset be used for?", None),
    ("uses.risks", "Is there anything about the composition or preprocessing that might impact future uses?", _risks),
    ("uses.avoid", "Are there tasks for which the dataset should not be used?", None),
    ("uses.impact", "What social impact (benefits and harms) may uses of the dataset have?", None),
    ("distribution.third_parties", "Will the dataset be distributed to third parties outside the creator?", None),
    ("distribution.access", "Under which conditions can researchers access the dataset?", None),
    ("distribution.how", "How will the dataset be distributed?", _how),
    ("distribution.when", "When will the dataset be distributed?", _when),
    ("distribution.licence", "Under which licence or terms of use is the dataset distributed?", _licence),
    ("distribution.third_party_ip", "Have any third parties imposed restrictions on the data?", _third_party_ip),
    ("distribution.export", "Do any export controls or other regulatory restrictions apply?", None),
    ("maintenance.who", "Who will be supporting, hosting and maintaining the dataset?", _who),
    ("maintenance.contact", "How can the owner, curator or manager of the dataset be contacted?", _contact),
    ("maintenance.erratum", "Is there an erratum?", None),
    ("maintenance.updates", "Will the dataset be updated? How often, by whom, how communicated?", _updates),
    ("maintenance.retention", "Are there limits on the retention of the data associated with individuals?", None),
    ("maintenance.older", "Will older versions of the dataset continue to be supported?", _older),
    ("maintenance.contribute", "Is there a mechanism for others to extend or contribute to the dataset?", _contribute),
]


def gather_facts(release_dir: Path) -> Facts:
    """Everything the datasheet reads from the release folder."""
    facts = release_facts(release_dir)
    manifest = read_manifest(release_dir)
    facts["manifest"] = manifest
    facts["privacy"] = manifest.get("privacy") or {}
    facts["quality_results"] = read_quality(release_dir)
    return facts


def build_answers(facts: Facts, answers: Mapping[str, Any] | None) -> dict[str, list[Answer]]:
    """Answers per section: facts first, then the steward's text."""
    steward = flatten_answers(answers)
    sections: dict[str, list[Answer]] = {key: [] for key in SECTIONS}
    for key, question, fact in QUESTIONS:
        text = steward.get(key)
        if isinstance(text, list):
            text = "\n".join(f"- {item}" for item in text)
        sections[key.split(".")[0]].append(
            Answer(key, question, fact(facts) if fact else [], str(text).strip() if text not in (None, "") else None)
        )
    return sections


def _md_table(table: Table) -> str:
    def cell(value: Any) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(table.header) + " |", "|" + "---|" * len(table.header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.rows]
    return "\n".join(lines)


def render_markdown(facts: Facts, sections: dict[str, list[Answer]]) -> str:
    unanswered = sum(1 for answers in sections.values() for a in answers if not a.answered)
    lines = [
        f"# Datasheet: {facts['id']}",
        "",
        f"Version {facts.get('version')}, created {facts.get('created')}. Licence: {facts.get('licence')}. "
        f"{facts['records']} rows, {facts['individuals']} individuals, countries: {', '.join(facts['countries'])}.",
        "",
        "Answers marked *From the release* are computed from this release folder; *Steward* answers come from the "
        f"data steward's YAML. **{unanswered} questions are still unanswered.**",
    ]
    for key, title in SECTIONS.items():
        lines += ["", f"## {title}"]
        for answer in sections[key]:
            lines += ["", f"### {answer.question}", ""]
            if answer.facts:
                lines += ["*From the release:*", ""]
            for fact in answer.facts:
                lines += [_md_table(fact) if isinstance(fact, Table) else fact, ""]
            if answer.steward:
                lines += ["*Steward:*", "", answer.steward, ""]
            if not answer.answered:
                lines += [f"**Unanswered** — the steward answers it with `{answer.key}:` in the datasheet YAML.", ""]
    return "\n".join(lines).rstrip() + "\n"


def render_html(facts: Facts, sections: dict[str, list[Answer]]) -> str:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("fhirmony.publish", "templates"), autoescape=True, keep_trailing_newline=True
    )
    unanswered = sum(1 for answers in sections.values() for a in answers if not a.answered)
    return env.get_template("datasheet.html").render(
        facts=facts, sections=sections, titles=SECTIONS, unanswered=unanswered, Table=Table
    )


def write_datasheet(release_dir: Path, answers: Mapping[str, Any] | None = None) -> tuple[Path, Path]:
    """Write datasheet.md and datasheet.html into the release folder; returns both paths."""
    facts = gather_facts(release_dir)
    sections = build_answers(facts, answers)
    markdown = release_dir / "datasheet.md"
    html = release_dir / "datasheet.html"
    markdown.write_text(render_markdown(facts, sections), encoding="utf-8")
    html.write_text(render_html(facts, sections), encoding="utf-8")
    return markdown, html
