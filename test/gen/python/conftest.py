"""Puts gen/python on sys.path so the tests import the generated code as `baton.v1`."""

import sys
from pathlib import Path

GEN_PYTHON = Path(__file__).resolve().parents[3] / "gen" / "python"
if str(GEN_PYTHON) not in sys.path:
    sys.path.insert(0, str(GEN_PYTHON))
