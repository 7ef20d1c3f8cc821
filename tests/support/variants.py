"""A built-in policy under another id with some of its top-level fields replaced, as an admin would upload it.

    text = variant("choozle", "choozle_closed", closed={"updates": "refused", "hint": "Open a new ticket."})

The text is JSON (which YAML reads), so it carries exactly the fields given whatever the shipped file holds;
the shipped scenario tests are left out, since the variant's rules differ from those they check.
"""

from __future__ import annotations

import io
import json
from typing import Any

from ruamel.yaml import YAML

from sladesk.policy import builtin_source


def variant(builtin: str, policy_id: str, **fields: Any) -> str:
    """`builtin`'s policy as `policy_id`, version 1, with `fields` in place of its own top-level fields."""
    document = YAML(typ="safe").load(io.StringIO(builtin_source(builtin)))
    document.pop("tests", None)
    document.update(id=policy_id, version=1, **fields)
    return json.dumps(document, default=str, indent=1)
