"""What may reach a prompt. Prompts never carry user ids (the profile holds none); on top of
that, free text is redacted: built-in patterns (e-mail addresses, phone numbers), patterns
you configure, and whole item fields you keep out of prompts."""

from __future__ import annotations

import os
import re
from pathlib import Path

from agent.errors import ConfigError
from agent.types import Item, ItemRef, ProfileSummary

REDACTED = "[redacted]"
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE = re.compile(r"(?<![\w.])(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)[ .-]?)?\d{2,4}(?:[ .-]\d{2,4}){1,3}(?![\w.])")
PHONE_MIN_DIGITS = 9  # "1995-1996" is a span of years, not a phone number (a US SSN has 9 digits)
CARD = re.compile(r"(?<!\d)\d(?:[ -]?\d){12,18}(?!\d)")  # a payment card number: 13 to 19 digits
FIELDS = ("text", "tags")


def luhn_valid(number: str) -> bool:
    """The payment-card check digit: tells a card number from most other long digit runs."""
    digits = [int(c) for c in number if c.isdigit()][::-1]
    total = sum(d if i % 2 == 0 else (2 * d - 9 if d > 4 else 2 * d) for i, d in enumerate(digits))
    return total % 10 == 0


def private_file(path: Path) -> Path:
    """`path`, created if missing, readable and writable by its owner only (0600), in a folder
    that is created owner-only: the catalog holds interactions, the sessions hold chat text."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    os.chmod(path, 0o600)
    return path


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
            text = CARD.sub(lambda m: REDACTED if luhn_valid(m.group()) else m.group(), text)
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
