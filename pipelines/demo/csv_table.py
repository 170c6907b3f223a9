"""One CSV file of a demo source being written, counting physical lines (the header is line 1)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import IO


class CsvTable:
    """Rows and raw (deliberately broken) lines, each returning its line number for the truth file."""

    def __init__(
        self, path: Path, header: list[str], *, encoding: str = "utf-8", delimiter: str = ",", newline: str = "\n"
    ) -> None:
        self.name = path.name
        self.newline = newline
        self.handle: IO[str] = path.open("w", encoding=encoding, newline="")
        self.writer = csv.writer(self.handle, delimiter=delimiter, lineterminator=newline)
        self.writer.writerow(header)
        self.line = 1
        self.next_id = 1

    def row(self, values: list[str]) -> int:
        self.writer.writerow(values)
        self.line += 1
        return self.line

    def raw(self, text: str) -> int:
        self.handle.write(text + self.newline)
        self.line += 1
        return self.line

    def new_id(self) -> str:
        self.next_id += 1
        return str(self.next_id - 1)

    def close(self) -> None:
        self.handle.close()
