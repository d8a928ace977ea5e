"""Reports: received, answered and missed requests, response and resolution times, SLA,
CSAT, close reasons, new and returning customers, orders, and the busy hours (a feature:
the third floor of ARCHITECTURE.md; docs/reports.md).

``records.py`` (one episode's facts, periods, filters, aggregates), ``ports.py`` (a
``ReportsTx`` that extends the core's ``Tx`` with ``.reports``; the business-hours clock
the root provides), ``recorder.py`` (events → facts, in the transaction of the change),
``figures.py`` (pure: periods, percentiles, JSON figures, heat map, CSV) and
``service.py`` (the reports and the one permission check). It imports no other feature:
the root translates the bots' CSAT event and gives it business hours and money formats.
"""

from reports.figures import FIGURE_COLUMNS, hours_csv, rows_csv
from reports.recorder import FactRecorder, RatingGiven
from reports.records import EpisodeFacts, GroupBy
from reports.service import REPORTS_SCOPE, ReportQuery, ReportService, parse_group, require_reports

__all__ = [
    "FIGURE_COLUMNS",
    "REPORTS_SCOPE",
    "EpisodeFacts",
    "FactRecorder",
    "GroupBy",
    "RatingGiven",
    "ReportQuery",
    "ReportService",
    "hours_csv",
    "parse_group",
    "require_reports",
    "rows_csv",
]
