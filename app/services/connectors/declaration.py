"""A connector's declaration: the fields it can send, each mapped from our model.

The payload sent to the partner, the overview page and the member's data export are all
built from one declaration, so what the page says and what is sent cannot drift apart.
"""

from collections.abc import Callable
from dataclasses import dataclass, field


class MissingValueError(Exception):
    """A field the partner requires has no value for this member (staff must fill it in)."""

    def __init__(self, field_name: str):
        super().__init__(field_name)
        self.field_name = field_name


@dataclass(frozen=True)
class Field:
    """One field the partner receives: its name there (dotted for nested objects) and where it comes from."""

    name: str
    label: object  # a lazy translation: what staff and members read
    source: Callable  # member -> value (None when the member has none)
    required: bool = False  # the partner refuses an account without it
    optional: bool = False  # off by default; the club switches it on deliberately


@dataclass(frozen=True)
class Declaration:
    """What a connector is: its key, display name, the fields it can send and the consent purpose it reads."""

    key: str
    display_name: str
    consent_purpose: str
    fields: tuple[Field, ...] = field(default_factory=tuple)
    channel: str = ""  # how the data travels, as the transfer log names it

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)

    @property
    def optional_names(self) -> list[str]:
        return [f.name for f in self.fields if f.optional]

    def sent_fields(self, switched_on) -> list[Field]:
        """The fields this club sends: every non-optional field, and the optional ones switched on."""
        chosen = set(switched_on or ())
        return [f for f in self.fields if not f.optional or f.name in chosen]

    def build(self, member, switched_on) -> tuple[dict, list[str]]:
        """The nested payload for a member and the field names it holds; MissingValueError when a required one is empty."""
        payload: dict = {}
        names: list[str] = []
        for spec in self.sent_fields(switched_on):
            value = spec.source(member)
            if value in (None, ""):
                if spec.required:
                    raise MissingValueError(spec.name)
                continue
            target = payload
            *parents, leaf = spec.name.split(".")
            for part in parents:
                target = target.setdefault(part, {})
            target[leaf] = value
            names.append(spec.name)
        return payload, names
