"""The `fhirmony` command line: run the pipeline, generate the demo, list, query and verify releases."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from fhirmony.home import Home

Handler = Callable[[argparse.Namespace], int]
REPO_ROOT = Path(__file__).resolve().parents[1]


def _config_path(args: argparse.Namespace) -> Path:
    if args.config:
        return Path(args.config)
    if Path("fhirmony.yaml").exists():
        return Path("fhirmony.yaml")
    raise SystemExit("fhirmony: no fhirmony.yaml here; pass --config PATH (or try `fhirmony demo`)")


def _run(config_path: Path, source_ids: list[str] | None) -> int:
    from fhirmony.config import load_config
    from fhirmony.runner import format_summary, run_pipeline

    home = Home.from_env()
    config = load_config(config_path)
    summary = run_pipeline(config, home, source_ids=source_ids)
    print()
    print(format_summary(summary))
    print()
    if summary.release_path is None:
        print(f"No release: {summary.release_error}", file=sys.stderr)
        return 1
    release = summary.release_path
    print(f"Release:        {release}")
    print(f"Datasheet:      {release / 'datasheet.html'}")
    print(f"Quality report: {release / 'quality' / 'report.html'}")
    print(f'Query it:       fhirmony query "SELECT country, count(*) FROM patient GROUP BY 1" --release {release.name}')
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    return _run(_config_path(args), args.source or None)


def cmd_demo(args: argparse.Namespace) -> int:
    from fhirmony.embedded_demo import ensure_demo

    home = Home.from_env()
    print(f"Generating the embedded demo ({args.patients} patients per country, seed {args.seed}) in {home.root}/demo")
    config = ensure_demo(home, patients=args.patients, seed=args.seed, fresh=True)
    if args.generate_only:
        print(config)
        return 0
    return _run(config, None)


def cmd_releases(args: argparse.Namespace) -> int:
    from fhirmony.publish.release import list_releases

    releases = list_releases(Home.from_env())
    if not releases:
        print("No releases yet: run `fhirmony run` or `fhirmony demo`.")
        return 0
    for r in releases:
        countries = ",".join(r["countries"])
        print(f"{r['id']}  {r['created']}  {countries:<12} {r['tables']} tables  {r['rows']:>10,} rows  {r['licence']}")
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    from fhirmony.publish.release import connect_catalog, resolve_release

    release = resolve_release(Home.from_env(), args.release)
    con = connect_catalog(release)
    try:
        relation = con.sql(args.sql)
        if args.format == "parquet":
            if not args.output:
                raise SystemExit("fhirmony query: --format parquet needs -o OUT.parquet")
            relation.to_parquet(args.output, compression="zstd")
            print(f"wrote {args.output}")
        elif args.format == "csv":
            if args.output:
                relation.to_csv(args.output)
            else:
                import pyarrow.csv as pacsv

                pacsv.write_csv(relation.to_arrow_table(), sys.stdout.buffer)
        else:
            relation.show(max_rows=args.max_rows, max_width=200)
    finally:
        con.close()
    return 0


def cmd_describe(args: argparse.Namespace) -> int:
    import json

    from fhirmony.api import describe

    print(json.dumps(describe(args.release, home=Home.from_env()), indent=2, default=str))
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    import json

    from fhirmony.api import diff

    print(json.dumps(diff(args.a, args.b, home=Home.from_env()), indent=2, default=str))
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from fhirmony.publish.release import resolve_release, verify_manifest

    release = resolve_release(Home.from_env(), args.release)
    problems = verify_manifest(release)
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"{release.name}: {'OK, every checksum verifies' if not problems else f'{len(problems)} problems'}")
    return 0 if not problems else 1


def cmd_ui(args: argparse.Namespace) -> int:
    from fhirmony.runner import dagster_instance

    home = Home.from_env()
    dagster_instance(home)  # creates $FHIRMONY_HOME/dagster and sets DAGSTER_HOME
    command = [
        str(Path(sys.executable).with_name("dagster")),
        "dev",
        "-w",
        str(REPO_ROOT / "workspace.yaml"),
        "-h",
        args.host,
        "-p",
        str(args.port),
    ]
    print(f"Dagster UI on http://{args.host}:{args.port} (runs in {home.dagster}); Ctrl-C stops it")
    return subprocess.call(command, env={**os.environ, "FHIRMONY_HOME": str(home.root)})


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fhirmony",
        description="Harmonize national health datasets into FHIR-aligned, quality-checked, de-identified "
        "Parquet releases. State lives in $FHIRMONY_HOME (default ./.fhirmony).",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="materialize the asset graph for a config and publish a release",
        description="Run landing → fhir → harmonized → deidentified → quality for each "
        "source (one Dagster run per source partition), then publish a release.",
    )
    run.add_argument("--config", help="path to fhirmony.yaml (default: ./fhirmony.yaml)")
    run.add_argument("--source", action="append", metavar="ID", help="only this source (repeatable)")
    run.set_defaults(handler=cmd_run)

    demo = commands.add_parser(
        "demo",
        help="generate the embedded demo countries and run everything on them",
        description="Generate synthetic sources for several countries (different formats, "
        "codings, units and date conventions, with injected defects) and run the pipeline.",
    )
    demo.add_argument("--patients", type=int, default=200, help="patients per country (default 200)")
    demo.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    demo.add_argument("--generate-only", action="store_true", help="write the demo sources and config, do not run")
    demo.set_defaults(handler=cmd_demo)

    releases = commands.add_parser("releases", help="list published releases, newest first")
    releases.set_defaults(handler=cmd_releases)

    query = commands.add_parser(
        "query",
        help="SQL over a release through DuckDB",
        description="Run SQL against a release's catalog.duckdb (one view per table).",
    )
    query.add_argument("sql", help='e.g. "SELECT country, count(*) FROM patient GROUP BY 1"')
    query.add_argument("--release", help="release id or folder (default: the newest)")
    query.add_argument("--format", choices=["table", "csv", "parquet"], default="table")
    query.add_argument("-o", "--output", help="output file for csv or parquet")
    query.add_argument("--max-rows", type=int, default=40, help="rows shown in table format")
    query.set_defaults(handler=cmd_query)

    describe = commands.add_parser(
        "describe", help="tables, columns, rows, countries, splits and licence of a release (JSON)"
    )
    describe.add_argument("release", help="release id or folder")
    describe.set_defaults(handler=cmd_describe)

    diff = commands.add_parser("diff", help="what changed between two releases: rows, schema, quality (JSON)")
    diff.add_argument("a", help="older release id or folder")
    diff.add_argument("b", help="newer release id or folder")
    diff.set_defaults(handler=cmd_diff)

    verify = commands.add_parser("verify", help="re-hash every file of a release against its manifest")
    verify.add_argument("release", nargs="?", help="release id or folder (default: the newest)")
    verify.set_defaults(handler=cmd_verify)

    ui = commands.add_parser("ui", help="start the Dagster UI on the asset graph (loopback only)")
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=3000)
    ui.set_defaults(handler=cmd_ui)

    from fhirmony.views.cli import register as register_views

    register_views(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    from fhirmony.config import ConfigError

    try:
        return handler(args)
    except (ConfigError, FileNotFoundError) as error:
        print(f"fhirmony: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
