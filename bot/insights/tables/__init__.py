"""The dashboard's figures as tables: what the console shows beside each chart (its accessible alternative), what
every CSV download holds, and what `tandem insights report` prints. One table per slug (`/insights/<slug>.csv`),
each built from one panel, with the previous period's figures beside the period's.

Values stay raw (counts, rates as 0..1, seconds, scores, dates); `Column.kind` says how to show them and
`format_value` does it, so the CSV keeps full precision and the page and terminal read alike. `table` holds the
table itself; one module per group of panels builds theirs (`conversations`, `messages`, `workflows`,
`customers`, `summary`); `catalogue` lists them by slug. The names people use are importable from here.
"""

from bot.insights.tables.catalogue import TABLES, TableSpec, all_tables
from bot.insights.tables.summary import EITHER, HIGHER, LOWER
from bot.insights.tables.table import BY_ROW, KINDS, Column, Table, format_seconds, format_value

__all__ = [
    "BY_ROW",
    "EITHER",
    "HIGHER",
    "KINDS",
    "LOWER",
    "TABLES",
    "Column",
    "Table",
    "TableSpec",
    "all_tables",
    "format_seconds",
    "format_value",
]
