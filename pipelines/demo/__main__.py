"""`python -m fhirmony.demo --patients N --out DIR`: generate the demo sources (for benchmarks too)."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import orjson

from fhirmony.demo.generate import SOURCE_IDS, generate


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fhirmony.demo", description=__doc__)
    parser.add_argument("--patients", type=int, default=200, help="patients per source (default 200)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=Path("demo"), help="output folder (default ./demo)")
    parser.add_argument(
        "--sources", default=",".join(SOURCE_IDS), help=f"comma-separated subset of {','.join(SOURCE_IDS)}"
    )
    parser.add_argument("--defect-scale", type=float, default=1.0, help="multiply every defect rate (0: clean)")
    parser.add_argument(
        "--rate", action="append", default=[], metavar="KIND=RATE", help="override one defect kind's rate"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        rates = {kind: float(rate) for kind, _, rate in (item.partition("=") for item in args.rate)}
        config = generate(
            args.out,
            args.patients,
            args.seed,
            sources=args.sources.split(","),
            defect_scale=args.defect_scale,
            rates=rates,
        )
    except ValueError as error:
        parser.error(str(error))
    truth = orjson.loads((config.parent / "truth.json").read_bytes())
    seconds = time.perf_counter() - started
    for source_id, source in truth["sources"].items():
        records = sum(source["records"].values())
        defects = sum(d["count"] for d in source["defects"].values())
        print(
            f"{source_id:12} {source['format']:12} {source['patients']:>8} patients {records:>10} records "
            f"{defects:>7} defects"
        )
    print(f"wrote {config} and truth.json in {seconds:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
