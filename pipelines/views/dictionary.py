"""The data dictionary of the harmonized tables, generated from the ViewDefinitions.

`write_data_dictionary(views, path)` writes Markdown (.md), JSON (.json) or CSV (.csv); the release
writer calls it to embed the dictionary in each release, `fhirmony views dictionary` writes
docs/data-dictionary.md.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from fhirmony.views.compiled import CompiledView

PROVENANCE = [
    ("source_id", "string", "Identifier of the source (fhirmony.yaml `sources[].id`) the row came from."),
    ("country", "string", "ISO 3166-1 alpha-2 country of the source."),
]


@dataclass(frozen=True)
class DictionaryEntry:
    """One column of one table."""

    table: str
    column: str
    fhir_type: str
    arrow_type: str
    fhirpath: str
    description: str


def entries(views: Sequence[CompiledView], provenance: bool = True) -> list[DictionaryEntry]:
    """Every column of every view, in view order then column order (provenance columns last)."""
    out: list[DictionaryEntry] = []
    for view in views:
        for column, field in zip(view.columns, view.schema, strict=True):
            out.append(
                DictionaryEntry(
                    view.name,
                    column.name,
                    column.fhir_type or "string",
                    str(field.type),
                    column.path,
                    column.description,
                )
            )
        if provenance:
            for name, kind, description in PROVENANCE:
                out.append(
                    DictionaryEntry(view.name, name, kind, "string", "(added by the harmonized stage)", description)
                )
    return out


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(views: Sequence[CompiledView]) -> str:
    lines = [
        "# Data dictionary",
        "",
        "Generated from the SQL-on-FHIR v2 ViewDefinitions in `schemas/views/` by `fhirmony views dictionary`;",
        "do not edit by hand. One section per table: the FHIR resource it comes from, then every column with",
        "its FHIR type, its Arrow/Parquet type, the FHIRPath that computes it and what it means.",
        "`source_id` and `country` are added to every row by the harmonized stage.",
        "",
        "| table | resource | columns | description |",
        "|---|---|---|---|",
    ]
    for view in views:
        description = _cell(str(view.definition.get("description", "")))
        lines.append(f"| [{view.name}](#{view.name}) | {view.resource} | {len(view.columns) + 2} | {description} |")
    by_table: dict[str, list[DictionaryEntry]] = {}
    for entry in entries(views):
        by_table.setdefault(entry.table, []).append(entry)
    for view in views:
        title = view.definition.get("title") or view.name
        lines += [
            "",
            f"## {view.name}",
            "",
            f"{title}, from FHIR `{view.resource}`. {view.definition.get('description', '')}".rstrip(),
            "",
            f"ViewDefinition: `{view.definition.get('url', '')}`",
            "",
            "| column | FHIR type | Arrow type | FHIRPath | description |",
            "|---|---|---|---|---|",
        ]
        for entry in by_table[view.name]:
            lines.append(
                f"| `{entry.column}` | {entry.fhir_type} | {entry.arrow_type} | `{_cell(entry.fhirpath)}` "
                f"| {_cell(entry.description)} |"
            )
    return "\n".join(lines) + "\n"


def render_csv(views: Sequence[CompiledView]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["table", "column", "fhir_type", "arrow_type", "fhirpath", "description"])
    for entry in entries(views):
        writer.writerow(list(asdict(entry).values()))
    return buffer.getvalue()


def write_data_dictionary(views: Sequence[CompiledView], path: Path | str) -> Path:
    """Write the dictionary; the format follows the suffix (.md, .json or .csv)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.suffix == ".json":
        text = json.dumps([asdict(e) for e in entries(views)], indent=2) + "\n"
    elif target.suffix == ".csv":
        text = render_csv(views)
    else:
        text = render_markdown(views)
    target.write_text(text)
    return target
