"""squall-core's tests: the test modules share helpers (options_helpers.py, beside this file)."""

from __future__ import annotations

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).parent))
