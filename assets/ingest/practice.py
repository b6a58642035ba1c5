"""The practice-management export (contract §2): one CSV file per kind (collaborators, offices, client files,
documents, supplier rules), recognised by the kind in the file name; key fields land as text in
raw.practice_<kind>.
"""

from __future__ import annotations

from assets.ingest.raw_tables import PRACTICE_FILES
from assets.ingest.tabular import ObjectFileLoader


class PracticeLoader(ObjectFileLoader):
    """SourceLoader for landing/practice/: ObjectFileLoader describes file naming, values and versions."""

    source = "practice"
    objects = PRACTICE_FILES
    object_label = "practice file"
    suffixes = (".csv",)
    raw_tables = tuple(f"practice_{name}" for name in PRACTICE_FILES)
