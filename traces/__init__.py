"""Traces: a streaming recorder of every event (imports nothing else of prismsim)."""
from .recorder import COLUMNS, CsvRecorder, NullRecorder, Recorder

__all__ = ["COLUMNS", "CsvRecorder", "NullRecorder", "Recorder"]
