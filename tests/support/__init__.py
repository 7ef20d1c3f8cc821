"""What the tests share: the repository root, a fixed clock, the `sladesk` command in a subprocess, test databases."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
