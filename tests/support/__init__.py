"""What the tests share: the repository root here, the rest in this package's modules."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
