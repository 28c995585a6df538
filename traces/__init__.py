"""Traces: streaming recorders, Perfetto export, analysis and plots (imports nothing else of prismsim)."""
from .recorder import (COLUMNS, CsvRecorder, ListRecorder, NullRecorder, ParquetRecorder, Recorder, SplitRecorder,
                       TeeRecorder)

__all__ = ["COLUMNS", "CsvRecorder", "ListRecorder", "NullRecorder", "ParquetRecorder", "Recorder", "SplitRecorder",
           "TeeRecorder"]
