"""Dataset reading: CSV or Parquet files, folders of parts and globs, with content digests.

pyarrow is imported only when data is read, so importing this package stays cheap.
"""

from __future__ import annotations

from modelci.data.files import resolve_files
from modelci.data.reader import Dataset, read_dataset
from modelci.digests import dataset_digest

__all__ = ["Dataset", "dataset_digest", "read_dataset", "resolve_files"]
