"""`fhirmony views ...`: run the conformance suite, evaluate a view, print schemas and the dictionary."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pyarrow.parquet as pq

from fhirmony.views.compiled import default_views_dir, load_view, load_views
from fhirmony.views.errors import ViewDefinitionError


def _test(args: argparse.Namespace) -> int:
    from fhirmony.views.conformance import run_suite, summarize, test_files

    files = test_files(Path(args.directory))
    if not files:
        print(f"no test files in {args.directory}", file=sys.stderr)
        return 2
    report = run_suite(files)
    passed, total = summarize(report)
    if args.report:
        Path(args.report).parent.mkdir(parents=True, exist_ok=True)
        Path(args.report).write_text(json.dumps(report, indent=2) + "\n")
    for name, suite in report.items():
        for case in suite["tests"]:
            if not case["result"]["passed"]:
                print(f"FAIL {name}: {case['name']}: {case['result'].get('error', '')}")
    print(f"{passed}/{total} tests passed")
    return 0 if passed == total else 1


def _run(args: argparse.Namespace) -> int:
    try:
        view = load_view(Path(args.view))
    except ViewDefinitionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    rows = errors = 0
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    with pq.ParquetWriter(out, view.schema, compression="zstd") as writer:
        batches = view.evaluate_ndjson(
            [Path(p) for p in args.inputs], batch_size=args.batch_size, engine=args.engine, threads=args.threads
        )
        for batch in batches:
            writer.write_table(batch.table)
            rows += batch.table.num_rows
            errors += len(batch.errors)
            for error in batch.errors[:20]:
                print(f"{error.file}:{error.line}: {error.reason}", file=sys.stderr)
    print(f"{view.name}: {rows} rows -> {out}" + (f"; {errors} resource(s) failed" if errors else ""))
    return 0


def _schema(args: argparse.Namespace) -> int:
    try:
        view = load_view(Path(args.view))
    except ViewDefinitionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(view.schema.to_string(show_field_metadata=False, show_schema_metadata=False))
    return 0


def _dictionary(args: argparse.Namespace) -> int:
    from fhirmony.views.dictionary import write_data_dictionary

    views = load_views(Path(args.views) if args.views else default_views_dir())
    write_data_dictionary(views, Path(args.output))
    print(f"{len(views)} views -> {args.output}")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add `views test | run | schema | dictionary` to the fhirmony CLI."""
    parser = commands.add_parser("views", help="SQL-on-FHIR v2 ViewDefinitions")
    sub = parser.add_subparsers(dest="views_command", metavar="COMMAND")
    parser.set_defaults(handler=lambda args: (parser.print_help(), 2)[1])

    test = sub.add_parser("test", help="run SQL-on-FHIR test files; exit 0 only if all pass")
    test.add_argument("directory", help="folder of test *.json files")
    test.add_argument("--report", help="write the suite's test_report.json format here")
    test.set_defaults(handler=_test)

    run = sub.add_parser("run", help="evaluate one ViewDefinition over NDJSON files into Parquet")
    run.add_argument("view", help="ViewDefinition JSON")
    run.add_argument("inputs", nargs="+", help="FHIR NDJSON files")
    run.add_argument("-o", "--output", required=True, help="output Parquet file")
    run.add_argument("--batch-size", type=int, default=10_000)
    run.add_argument("--engine", choices=["auto", "python", "duckdb"], default="auto", help="evaluation engine")
    run.add_argument("--threads", type=int, help="DuckDB threads (default: all cores)")
    run.set_defaults(handler=_run)

    schema = sub.add_parser("schema", help="print the Arrow schema of a ViewDefinition")
    schema.add_argument("view")
    schema.set_defaults(handler=_schema)

    dictionary = sub.add_parser("dictionary", help="write the data dictionary (Markdown) of the views")
    dictionary.add_argument("--views", help="folder of ViewDefinitions (default: schemas/views)")
    dictionary.add_argument("-o", "--output", default="docs/data-dictionary.md")
    dictionary.set_defaults(handler=_dictionary)
