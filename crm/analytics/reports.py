"""The reports, each a module that computes its numbers and names the leads behind them.

A report module builds one `Report`: how to compute its result (plain values, so it can be
kept by the cache), the tables it downloads as CSV and XLSX, and, for a number clicked, the
leads it counted. The views serve every report the same way.
"""

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Table:
    """One table of a report, as it downloads: column names and rows of plain values."""

    header: list
    rows: list


@dataclass(frozen=True)
class LeadsBehind:
    """The leads behind a number: a `select(Lead.id ...)` and what they are, in words."""

    ids: object
    caption: str


@dataclass(frozen=True)
class Report:
    slug: str
    title: object
    template: str
    # compute(filters) -> the result, kept by the cache.
    compute: Callable
    # tables(filters, result) -> {name: Table}, each downloadable as CSV and XLSX.
    tables: Callable
    # leads(filters, args) -> LeadsBehind, or None when the args name no number of the report.
    leads: Callable
    # Anything besides the data and the filters that the result depends on (the hour, for
    # reports that count up to now), for the cache key.
    moves_with: Callable = field(default=lambda: None)
    # shows(result) -> what the template shows as `result`: a kept result with what it refers
    # to (a field's name and options) as it is now.
    shows: Callable = field(default=lambda result: result)
    # Steps and stays are one pipeline's: such a report never adds pipelines up.
    one_pipeline: bool = False

    def filters(self, filters):
        """`filters` as this report reads them."""
        return filters.in_one_pipeline() if self.one_pipeline else filters
