"""Message templates: Jinja2 in a sandbox with StrictUndefined, one per event type, language and kind.

``load_templates`` reads ``templates/<lang>.yaml`` and renders every template with sample data, so a
misspelt variable fails at start-up (or in a test), never as a blank in a resident's message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from jinja2 import StrictUndefined, TemplateError, nodes
from jinja2.sandbox import SandboxedEnvironment

from services.notify.domain.context import sample_data
from shared.events.registry import registry

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"
LANGUAGES = ("zh-CN", "en")
PARTS = ("title", "short", "full")
DIGEST = "_digest"


class TemplateLoadError(ValueError):
    """A template is missing or does not render with the event's fields."""


@dataclass
class Rendered:
    title: str
    short: str
    full: str


@dataclass
class Templates:
    """Compiled templates by (name, language, part).

    ``one_context`` holds the (name, language) pairs whose parts assign nothing (no ``set``, macro,
    import or block): their three parts render with one shared context instead of one each (setting
    up a context is most of a render's time).
    """

    env: SandboxedEnvironment
    compiled: dict[tuple[str, str, str], Any] = field(default_factory=dict)
    one_context: set[tuple[str, str]] = field(default_factory=set)

    def render(self, name: str, language: str, context: dict[str, Any]) -> Rendered:
        """Render title/short/full of ``name`` in ``language`` (zh-CN when the language is not shipped)."""
        lang = language if (name, language, "title") in self.compiled else "zh-CN"
        templates = [self.compiled[(name, lang, p)] for p in PARTS]
        if (name, lang) in self.one_context:
            try:
                shared = templates[0].new_context(context)
                title, short, full = ("".join(t.root_render_func(shared)).strip() for t in templates)
            except Exception:
                self.env.handle_exception()  # re-raises, as Template.render does
        else:
            title, short, full = (t.render(context).strip() for t in templates)
        return Rendered(title=title[:200], short=short[:1000], full=full[:4000])

    def names(self) -> set[str]:
        return {name for name, _, _ in self.compiled}


ASSIGNING = (
    nodes.Assign,
    nodes.AssignBlock,
    nodes.Macro,
    nodes.CallBlock,
    nodes.Import,
    nodes.FromImport,
    nodes.Include,
    nodes.Extends,
    nodes.Block,
    nodes.EvalContextModifier,
)


def assigns_nothing(env: SandboxedEnvironment, sources: list[str]) -> bool:
    """True when no source sets a variable, defines anything or changes autoescaping (what a shared
    render context would carry from one part into the next)."""
    return all(next(env.parse(source).find_all(ASSIGNING), None) is None for source in sources)


def models_by_short_name() -> dict[str, type]:
    """Event data models of the producers notify listens to, by short name (TicketOpened...)."""
    return {m.short_name(): m for t, m in registry().items() if not t.startswith("cn.linli.notify.")}


def load_templates(directory: Path = TEMPLATE_DIR, required: set[str] | None = None) -> Templates:
    """Compile and validate every template; ``required`` names must exist in every language."""
    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, trim_blocks=False)
    templates = Templates(env)
    models = models_by_short_name()
    for lang in LANGUAGES:
        path = directory / f"{lang}.yaml"
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for name, parts in doc.items():
            for part in PARTS:
                if part not in (parts or {}):
                    raise TemplateLoadError(f"模板缺少 {part} / template {lang}/{name} has no {part!r}")
                try:
                    compiled = env.from_string(parts[part])
                    compiled.render(_sample_context(name, models))
                except (TemplateError, KeyError, TypeError) as exc:
                    raise TemplateLoadError(f"模板无效 / template {lang}/{name}.{part}: {exc}") from None
                templates.compiled[(name, lang, part)] = compiled
            if assigns_nothing(env, [parts[part] for part in PARTS]):
                templates.one_context.add((name, lang))
    for name in (required or set()) | {DIGEST}:
        for lang in LANGUAGES:
            if (name, lang, "title") not in templates.compiled:
                raise TemplateLoadError(f"缺少模板 / no {lang} template for {name}")
    return templates


def _sample_context(name: str, models: dict[str, type]) -> dict[str, Any]:
    from services.notify.domain.context import template_context

    if name == DIGEST:
        return {"count": 2, "titles": ["a", "b"], "items": ["a", "b"], "recipient_name": "x"}
    if name not in models:
        raise TemplateLoadError(f"未知事件 / no event type named {name}")
    model = models[name]
    return template_context(model, sample_data(model), tz="Asia/Shanghai", recipient_name="样例")
