"""What may reach a prompt. Prompts never carry user ids (the profile holds none); on top of
that, free text is redacted: built-in patterns (e-mail addresses, phone numbers), patterns
you configure, and whole item fields you keep out of prompts."""

from __future__ import annotations

import re

from agent.errors import ConfigError
from agent.types import Item, ItemRef, ProfileSummary

REDACTED = "[redacted]"
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE = re.compile(r"(?<![\w.])(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)[ .-]?)?\d{2,4}(?:[ .-]\d{2,4}){1,3}(?![\w.])")
PHONE_MIN_DIGITS = 9  # "1995-1996" is a span of years, not a phone number
FIELDS = ("text", "tags")


class Redactor:
    def __init__(self, patterns: list[str] = (), exclude_fields: list[str] = (), builtin: bool = True):
        try:
            self.patterns = [re.compile(p) for p in patterns]
        except re.error as e:
            raise ConfigError(f"bad redaction pattern: {e} (RECAGENT_REDACT_PATTERNS takes regular expressions)") from None
        unknown = set(exclude_fields) - set(FIELDS)
        if unknown:
            raise ConfigError(f"cannot keep {', '.join(sorted(unknown))} out of prompts: "
                              f"RECAGENT_PROMPT_EXCLUDE_FIELDS takes {', '.join(FIELDS)}")
        self.exclude_fields = set(exclude_fields)
        self.builtin = builtin

    @classmethod
    def from_settings(cls, settings) -> "Redactor":
        return cls(settings.redact_patterns, settings.prompt_exclude_fields, settings.redact_builtin)

    def text(self, text: str) -> str:
        if self.builtin:
            text = EMAIL.sub(REDACTED, text)
            text = PHONE.sub(lambda m: REDACTED if sum(c.isdigit() for c in m.group()) >= PHONE_MIN_DIGITS
                             else m.group(), text)
        for p in self.patterns:
            text = p.sub(REDACTED, text)
        return text

    def item(self, item: Item) -> Item:
        return item.model_copy(update={
            "title": self.text(item.title),
            "text": "" if "text" in self.exclude_fields else self.text(item.text),
            "tags": [] if "tags" in self.exclude_fields else [self.text(t) for t in item.tags]})

    def profile(self, profile: ProfileSummary) -> ProfileSummary:
        def refs(rs: list[ItemRef]) -> list[ItemRef]:
            return [r.model_copy(update={"title": self.text(r.title)}) for r in rs]

        return profile.model_copy(update={
            "liked": refs(profile.liked), "disliked": refs(profile.disliked), "recent": refs(profile.recent),
            "top_tags": [] if "tags" in self.exclude_fields else [self.text(t) for t in profile.top_tags],
            "narrative": self.text(profile.narrative) if profile.narrative else profile.narrative})
