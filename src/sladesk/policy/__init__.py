"""Policies as data: the YAML format, its checks, and the five built-in seed policies."""

from sladesk.policy.load import (
    BUILTIN_IDS,
    builtin_path,
    builtin_source,
    load_policy,
    policy_from_text,
    read_policy_file,
    read_yaml,
)
from sladesk.policy.model import PolicySpec, SeveritySpec, StatusKind
from sladesk.policy.policy import ClockRule, Policy, UnknownNameError

__all__ = [
    "BUILTIN_IDS",
    "ClockRule",
    "Policy",
    "PolicySpec",
    "SeveritySpec",
    "StatusKind",
    "UnknownNameError",
    "builtin_path",
    "builtin_source",
    "load_policy",
    "policy_from_text",
    "read_policy_file",
    "read_yaml",
]
