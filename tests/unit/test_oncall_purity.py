"""`sladesk.oncall` is pure like `sladesk.clock`: importing it loads no web, store, service or CLI code."""

from __future__ import annotations

import subprocess
import sys


def test_importing_oncall_loads_no_adapter_or_store_code() -> None:
    program = (
        "import sys, sladesk.oncall\n"
        "print(sorted(m for m in sys.modules if m.split('.')[:2] in "
        "(['sladesk', 'web'], ['sladesk', 'store'], ['sladesk', 'services'], ['sladesk', 'cli'], "
        "['sladesk', 'api'], ['sladesk', 'jobs'], ['sladesk', 'notify'])))"
    )
    loaded = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"
