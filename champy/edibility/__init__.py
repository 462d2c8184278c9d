"""Edibility of a species from the curated table in `data/edibility.csv`, and warnings for a set of candidates.

The table is built by `python -m champy.edibility.build` from licensed hobby sources (see data/EDIBILITY.md);
it is a safety net for warnings, never a licence to eat anything.
"""

from champy.edibility.advice import DISCLAIMER, edibility_warnings
from champy.edibility.status import STATUSES, is_toxic
from champy.edibility.table import EdibilityInfo, lookup

__all__ = ["DISCLAIMER", "STATUSES", "EdibilityInfo", "edibility_warnings", "is_toxic", "lookup"]
