"""`python -m fhirmony.quality`: the catalogue, stored results and the report from the command line.

python -m fhirmony.quality catalogue [--list]
python -m fhirmony.quality rejudge RELEASE_OR_RESULTS --set value_set=0.05 [--set ...] [-o OUT.json]
python -m fhirmony.quality compare RELEASE_OR_RESULTS PREVIOUS
python -m fhirmony.quality report RELEASE [--previous PREVIOUS]
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from fhirmony.quality.model import STATUSES, CheckResult
from fhirmony.quality.results import apply_thresholds, compare_results, read_results, write_results


def _counts(results: list[CheckResult]) -> str:
    counts = Counter(r.status for r in results)
    return ", ".join(f"{counts.get(s, 0)} {s.replace('_', ' ')}" for s in STATUSES)


def _overrides(pairs: list[str]) -> dict[str, float]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--set needs KEY=SHARE, got {pair!r}")
        out[key] = float(value)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fhirmony.quality", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    cat = sub.add_parser("catalogue", help="check types and resolved checks")
    cat.add_argument("--list", action="store_true", help="every resolved check")
    rejudge = sub.add_parser("rejudge", help="re-apply thresholds to stored results (no check is re-run)")
    rejudge.add_argument("results", type=Path)
    rejudge.add_argument(
        "--set", action="append", default=[], metavar="KEY=SHARE", help="check id, check:table or type"
    )
    rejudge.add_argument("-o", "--output", type=Path, help="folder to write quality/results.json into")
    compare = sub.add_parser("compare", help="new, persisting and resolved failures")
    compare.add_argument("results", type=Path)
    compare.add_argument("previous", type=Path)
    report = sub.add_parser("report", help="write RELEASE/quality/report.html")
    report.add_argument("release", type=Path)
    report.add_argument("--previous", type=Path)
    args = parser.parse_args(argv)

    if args.command == "catalogue":
        from fhirmony.quality.catalogue import load_catalogue

        catalogue = load_catalogue()
        by_type = Counter(c.check for c in catalogue.checks)
        for name, ctype in catalogue.check_types.items():
            print(f"{name:28} {ctype['category']:13} {ctype['severity']:16} {ctype['engine']:19} {by_type[name]:4}")
        print(f"{len(catalogue.check_types)} check types, {len(catalogue.checks)} resolved checks")
        if args.list:
            for check in catalogue.checks:
                print(f"{check.check_id}\t{check.severity}\t{check.threshold}\t{check.description}")
    elif args.command == "rejudge":
        before = read_results(args.results)
        after = apply_thresholds(before, _overrides(args.set))
        for old, new in zip(before, after, strict=True):
            if old.status != new.status:
                print(f"{new.check_id} [{new.source_id}]: {old.status} → {new.status} ({new.violating}/{new.total})")
        print(f"before: {_counts(before)}\nafter:  {_counts(after)}")
        if args.output:
            print(write_results(args.output, after))
    elif args.command == "compare":
        comparison = compare_results(read_results(args.results), read_results(args.previous))
        for r in comparison.new:
            print(f"new        {r.check_id} [{r.source_id}] {r.violating}/{r.total}")
        for old, now in comparison.resolved:
            print(f"resolved   {old.check_id} [{old.source_id}] now {now.status if now else 'not run'}")
        for now, old in comparison.persisting:
            print(
                f"persisting {now.check_id} [{now.source_id}] {old.violating}/{old.total} → {now.violating}/{now.total}"
            )
        print(comparison.counts())
    else:
        from fhirmony.quality.report import write_report

        print(write_report(args.release, args.previous))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
