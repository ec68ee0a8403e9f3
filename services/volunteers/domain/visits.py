"""Visit rules without I/O: methods, checklist, hours credited (who may see what: ``service_layer/scope.py``)."""

from __future__ import annotations

from shared.errors import Invalid

METHODS = ("door", "phone", "video")
SKILLS = ("electrical_check", "haircut", "hospital_escort", "cooking", "chat", "repairs")
HAZARD_CATEGORIES = ("electricity", "gas", "water", "heating", "structure", "other")


def check_method(method: str) -> str:
    if method not in METHODS:
        raise Invalid(f"走访方式无效 / method must be one of {', '.join(METHODS)}")
    return method


def check_skills(skills: list[str]) -> list[str]:
    unknown = sorted(set(skills) - set(SKILLS))
    if unknown:
        raise Invalid(f"技能未知 / unknown skill; choose from {', '.join(SKILLS)}", code="skills")
    return list(dict.fromkeys(skills))


def hours_for(minutes: int) -> float:
    """Time-bank hours credited for a visit of ``minutes`` (to the quarter hour, at least 0.25)."""
    if minutes <= 0:
        raise Invalid("时长须为正数 / minutes must be positive")
    return max(round(minutes / 15) * 0.25, 0.25)
