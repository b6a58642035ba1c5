"""The CRM export (contract §2): one CSV or JSON Lines file per object, Sellsy API v2 field names.

Files are recognised by the object name in their file name (`companies.csv`,
`sellsy_companies_2026-10-31.jsonl`); their key fields land as text in raw.crm_<object>; typing and status
checks happen in dbt staging.
"""

from __future__ import annotations

from assets.ingest.raw_tables import CRM_OBJECTS
from assets.ingest.tabular import ObjectFileLoader


class CrmLoader(ObjectFileLoader):
    """SourceLoader for landing/crm/: ObjectFileLoader describes file naming, values and versions."""

    source = "crm"
    objects = CRM_OBJECTS
    object_label = "CRM object"
    suffixes = (".csv", ".jsonl")
    raw_tables = tuple(f"crm_{name}" for name in CRM_OBJECTS)
