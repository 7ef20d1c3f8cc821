"""On-call schedules: layered rotations in a time zone, overrides, and who is on call when.

Pure like `sladesk.clock`: values in, values out, instants as parameters, UTC out.
"""

from sladesk.oncall.layers import LayerShift
from sladesk.oncall.model import (
    AddOverride,
    Layer,
    Override,
    RemoveOverride,
    ReplaceOverride,
    Restriction,
    Schedule,
    ScheduleError,
)
from sladesk.oncall.resolve import (
    Shift,
    final_schedule,
    gaps,
    layer_shifts,
    next_change,
    on_call_at,
    who_is_next,
)
from sladesk.oncall.rotation_length import RotationLength, parse_rotation

__all__ = [
    "AddOverride",
    "Layer",
    "LayerShift",
    "Override",
    "RemoveOverride",
    "ReplaceOverride",
    "Restriction",
    "RotationLength",
    "Schedule",
    "ScheduleError",
    "Shift",
    "final_schedule",
    "gaps",
    "layer_shifts",
    "next_change",
    "on_call_at",
    "parse_rotation",
    "who_is_next",
]
