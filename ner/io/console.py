"""What ner prints for people on standard error: durations."""

from __future__ import annotations


def clock(seconds: float) -> str:
    """A duration in seconds as ``m:ss``, or ``h:mm:ss`` from one hour on (rounded to the second)."""
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 \
        else f"{seconds // 60}:{seconds % 60:02d}"
