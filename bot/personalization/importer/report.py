"""What an import did and which rows it refused, kept so a person can fix the rows and import them again.

The helpers that shorten and quote raw text live here because every reason in a report is written with them.
"""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

_KEPT_CHARS = 200  # of a rejected row's raw text and of each of its values
_SHOWN_CHARS = 40  # of a value quoted in a reason
_SHOWN_REJECTS = 5  # in str(report)

Errors = list[tuple[str | None, str]]  # (column or None for the whole row, reason)


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (unknown format, no such file, missing columns)."""


@dataclass(frozen=True)
class RejectedRow:
    """A row that was not imported: where it is, why, and what it held (truncated), so it can be fixed."""

    line: int  # 1-based line of the file where the row starts (the CSV header is line 1)
    reason: str
    raw: str
    field: str | None = None  # the offending column(s), comma-separated; None when the row is unreadable
    values: Mapping[str, str] = dataclasses.field(default_factory=dict)  # canonical column -> text


@dataclass
class ImportReport:
    """What an import did; `rows_read == imported + duplicates + rejected_count`."""

    path: str
    source: str
    columns: tuple[str, ...]  # canonical columns, in the order `write_rejects` writes them
    rows_read: int = 0
    imported: int = 0
    duplicates: int = 0
    rejected: list[RejectedRow] = dataclasses.field(default_factory=list)
    rejects_not_kept: int = 0  # rejected beyond `max_rejects`: counted, not listed
    ignored_columns: list[str] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)
    elapsed_s: float = 0.0
    max_rejects: int = dataclasses.field(default=100_000, repr=False)

    @property
    def rejected_count(self) -> int:
        return len(self.rejected) + self.rejects_not_kept

    @property
    def rows_per_s(self) -> float:
        return self.rows_read / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def reject(self, line: int, errors: Errors, raw: str, values: Mapping[str, str] | None = None) -> None:
        if len(self.rejected) >= self.max_rejects:
            self.rejects_not_kept += 1
            return
        columns = list(dict.fromkeys(c for c, _ in errors if c))
        reason = "; ".join(f"{c}: {r}" if c else r for c, r in errors)
        kept = {k: _truncate(v) for k, v in (values or {}).items()}
        self.rejected.append(RejectedRow(line, reason, raw, ", ".join(columns) or None, kept))

    def write_rejects(self, path: str | Path) -> int:
        """Write the kept rejects as a CSV the importer reads back: fix the rows, then import the file (its
        reject_* columns are ignored). Unreadable rows have empty columns and their text in reject_raw."""
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow([*self.columns, "reject_line", "reject_field", "reject_reason", "reject_raw"])
            for row in self.rejected:
                writer.writerow(
                    [row.values.get(c, "") for c in self.columns] + [row.line, row.field or "", row.reason, row.raw]
                )
        return len(self.rejected)

    def __str__(self) -> str:
        rate = f", {self.rows_per_s:,.0f} rows/s" if self.rows_read else ""
        lines = [
            f"{Path(self.path).name}: {_count(self.rows_read, 'row')} read, {self.imported:,} imported, "
            f"{_count(self.duplicates, 'duplicate')} skipped, {self.rejected_count:,} rejected "
            f"({self.elapsed_s:.1f} s{rate})"
        ]
        for row in self.rejected[:_SHOWN_REJECTS]:
            lines.append(f"  line {row.line}: {row.reason}")
        if self.rejected_count > _SHOWN_REJECTS:
            lines.append(f"  ... and {_count(self.rejected_count - _SHOWN_REJECTS, 'more rejected row')}")
        if self.rejects_not_kept:
            lines.append(f"  {self.rejects_not_kept:,} rejected rows past max_rejects were counted, not kept")
        if self.ignored_columns:
            lines.append(f"  ignored columns: {', '.join(self.ignored_columns)}")
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)


def _truncate(text: str, limit: int = _KEPT_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _quote(text: str) -> str:
    return repr(_truncate(text, _SHOWN_CHARS))
