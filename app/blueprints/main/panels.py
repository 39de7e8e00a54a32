"""Dashboard panels: each blueprint adds its own, so the dashboard needs no edit per feature.

A panel is (template, permission code, provider); the provider returns the template's
context as a dict, or None to hide the panel.
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Panel:
    template: str
    permission: str
    provider: Callable[[object], dict | None]
    order: int = 50


def register_panel(app, panel: Panel) -> None:
    app.extensions.setdefault("clubhouse_panels", []).append(panel)
    app.extensions["clubhouse_panels"].sort(key=lambda p: p.order)


def panel_on(blueprint, template: str, permission: str, order: int = 50):
    """Decorator for a provider function: registers the panel when the blueprint is registered."""

    def decorator(provider):
        blueprint.record_once(lambda state: register_panel(state.app, Panel(template, permission, provider, order)))
        return provider

    return decorator
