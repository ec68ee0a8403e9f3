"""The caller's language and field messages in it (zh-CN first, English on request).

Messages are written from pydantic's error type and its limits (``ctx``) only, so they never carry
what the client sent.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import HTTPConnection

ZH: dict[str, str] = {
    "missing": "必填",
    "extra_forbidden": "不接受该字段",
    "string_type": "应为文本",
    "string_too_short": "至少 {min_length} 个字符",
    "string_too_long": "最多 {max_length} 个字符",
    "string_pattern_mismatch": "格式不符合要求",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "finite_number": "应为有限的数字",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "greater_than": "应大于 {gt}",
    "greater_than_equal": "应大于或等于 {ge}",
    "less_than": "应小于 {lt}",
    "less_than_equal": "应小于或等于 {le}",
    "literal_error": "应为以下之一：{expected}",
    "enum": "应为以下之一：{expected}",
    "date_type": "应为日期（YYYY-MM-DD）",
    "date_parsing": "应为日期（YYYY-MM-DD）",
    "date_from_datetime_parsing": "应为日期（YYYY-MM-DD）",
    "datetime_type": "应为时间（ISO 8601）",
    "datetime_parsing": "应为时间（ISO 8601）",
    "datetime_from_date_parsing": "应为时间（ISO 8601）",
    "timezone_aware": "时间应带时区",
    "list_type": "应为列表",
    "too_short": "至少 {min_length} 项",
    "too_long": "最多 {max_length} 项",
    "dict_type": "应为对象",
    "model_type": "应为对象",
    "model_attributes_type": "应为对象",
    "json_invalid": "不是有效的 JSON",
    "json_type": "不是有效的 JSON",
    "value_error": "取值无效",
    "assertion_error": "取值无效",
    "union_tag_invalid": "类型无效",
    "uuid_parsing": "应为 UUID",
    "url_parsing": "应为网址",
    "url_scheme": "网址协议不被接受",
}
EN: dict[str, str] = {
    "missing": "required",
    "extra_forbidden": "field not accepted",
    "string_too_short": "at least {min_length} characters",
    "string_too_long": "at most {max_length} characters",
    "string_pattern_mismatch": "does not have the required form",
    "finite_number": "must be a finite number",
    "greater_than": "must be greater than {gt}",
    "greater_than_equal": "must be at least {ge}",
    "less_than": "must be less than {lt}",
    "less_than_equal": "must be at most {le}",
    "too_short": "at least {min_length} items",
    "too_long": "at most {max_length} items",
    "value_error": "invalid value",
    "assertion_error": "invalid value",
}


def prefers_english(request: HTTPConnection | None) -> bool:
    """True when ``Accept-Language`` ranks English above Chinese (zh-CN is the default)."""
    if request is None:
        return False
    header = request.headers.get("accept-language", "")[:200]
    best: tuple[float, str] = (0.0, "zh")
    for part in header.split(","):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower()
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        lang = tag.split("-")[0]
        if lang in ("zh", "en") and q > best[0]:
            best = (q, lang)
    return best[1] == "en"


def field_message(error: dict[str, Any], english: bool) -> str:
    """A message for one pydantic error from its type and limits (never its input)."""
    kind = str(error.get("type", ""))
    ctx = {k: v for k, v in (error.get("ctx") or {}).items() if isinstance(v, int | float | str)}
    if kind == "value_error" and isinstance((error.get("ctx") or {}).get("error"), ValueError):
        own = str(error["ctx"]["error"])  # our validators write bilingual, input-free messages
        zh, sep, en = own.partition(" / ")
        if sep:
            return en if english else zh
    template = (EN if english else ZH).get(kind)
    if template is None:  # pydantic's own English names the expected form, not the input
        return str(error.get("msg", "invalid value"))[:200] if english else "取值无效"
    try:
        return template.format(**ctx)
    except (KeyError, IndexError, ValueError):
        return template.split("{")[0].strip() or template
