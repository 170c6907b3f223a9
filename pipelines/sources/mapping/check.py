"""Try a mapping on an extract before running the pipeline: per file, rows mapped, errors, a sample.

`python -m fhirmony.sources.mapping MAPPING.yaml EXTRACT_DIR [--sample 1] [--errors 5] [--validate]`
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson

from fhirmony.config import SourceConfig
from fhirmony.sources.csv_mapping import CsvMappingReader
from fhirmony.sources.mapping.model import MappingError

Print = Callable[[str], None]


def check(
    mapping: Path, extract: Path, *, sample: int = 1, errors: int = 5, validate: bool = False, out: Print = print
) -> int:
    """Map every row of the extract; print a summary per file. 0: all rows mapped (and valid), 1: not, 2: unusable."""
    source = SourceConfig(id="check", country="XX", format="csv", path=extract, licence="unknown", mapping=mapping)
    try:
        reader = CsvMappingReader(source)
        out(
            f"{mapping.name}: valid mapping, {len(reader.mapping.files)} file rules, "
            f"{len(reader.mapping.tables)} tables"
        )
        problem: Callable[[dict[str, Any]], str | None] = _validator() if validate else (lambda _: None)
        files: dict[str, Counter[str]] = {}
        shown: Counter[str] = Counter()
        failed = 0
        for record in reader.records():
            counts = files.setdefault(record.origin.file, Counter())
            reason = record.error or problem(record.resource or {})
            if reason is None:
                counts[record.resource_type] += 1
                if shown[record.origin.file] < sample:
                    out(f"  {record.origin}: " + orjson.dumps(record.resource).decode())
                    shown[record.origin.file] += 1
                continue
            failed += 1
            counts["errors"] += 1
            if counts["errors"] <= errors:
                out(f"  {record.origin.file}:{record.origin.line}: {reason}")
    except MappingError as error:
        out(f"error: {error}")
        return 2
    for name, counts in files.items():
        mapped = ", ".join(f"{n} {t}" for t, n in sorted(counts.items()) if t != "errors") or "nothing mapped"
        out(f"{name}: {mapped}; {counts['errors']} errors")
    return 1 if failed else 0


def _validator() -> Callable[[dict[str, Any]], str | None]:
    from fhirmony.fhir.validate import validation_problem

    return validation_problem


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fhirmony.sources.mapping", description=__doc__.splitlines()[0])
    parser.add_argument("mapping", type=Path, help="the mapping YAML")
    parser.add_argument("extract", type=Path, help="the folder (or file) of the extract")
    parser.add_argument("--sample", type=int, default=1, help="resources shown per file (default 1)")
    parser.add_argument("--errors", type=int, default=5, help="errors shown per file (default 5)")
    parser.add_argument("--validate", action="store_true", help="also validate each resource as FHIR R4 (R4B)")
    args = parser.parse_args(argv)
    return check(args.mapping, args.extract, sample=args.sample, errors=args.errors, validate=args.validate)


if __name__ == "__main__":
    sys.exit(main())
