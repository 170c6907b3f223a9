"""The `fhirmony` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

# Each command group registers itself: register(subparsers) adds its sub-commands.
# Handlers receive the parsed namespace and return an exit code.
Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fhirmony",
        description="Harmonize national health datasets into FHIR-aligned, quality-checked, "
        "de-identified Parquet releases.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
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
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
