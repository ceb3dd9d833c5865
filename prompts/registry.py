"""Versioned Jinja prompt files: `family/vN.j2`, referred to as `family@vN`.

Each template defines a `system` and a `user` block; `render` returns chat messages. An
explanation template may also define an `opening` block: the first words of the answer, which
the server continues where it can (`RenderedPrompt.opening`), and a `hook` block: the model then
writes a hook after the sentence, from the block's words (`RenderedPrompt.hook`).
Rendering is sandboxed and strict: a missing variable fails with the template's name."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from jinja2 import StrictUndefined, TemplateError, meta
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel

from agent.errors import PromptError
from prompts.families import FAMILIES, Family

PROMPTS_DIR = Path(__file__).parent
ROLES = ("system", "user")


@dataclass(frozen=True)
class RenderedPrompt:
    ref: str
    template_sha256: str
    messages: list[dict[str, str]]
    opening: str = ""  # the answer's given first words, or ""
    hook: str | None = None  # a `hook` block: the model writes a hook after the sentence, from these first words


def _env(directories: list[Path]) -> SandboxedEnvironment:
    from jinja2 import FileSystemLoader

    env = SandboxedEnvironment(loader=FileSystemLoader(directories), undefined=StrictUndefined,
                               autoescape=False, trim_blocks=True, lstrip_blocks=True,
                               keep_trailing_newline=False)
    return env


class PromptRegistry:
    """`extra`: more folders of the same layout, read after `directory` (an optimisation run's
    candidates, prompts/<family>/vN.j2 under its run folder, with versions past the shipped ones)."""

    def __init__(self, directory: Path = PROMPTS_DIR, extra: tuple[Path, ...] = ()):
        self.directory = directory
        self.directories = [directory, *extra]
        self.env = _env(self.directories)
        self._variables: dict[str, frozenset[str]] = {}  # by template source

    def list(self) -> list[str]:
        refs = {f"{p.parent.name}@{p.stem}" for d in self.directories for p in d.glob("*/v*.j2")}
        return sorted(refs, key=lambda r: (r.split("@")[0], int(r.split("@v")[1]) if r.split("@v")[1].isdigit() else 0))

    def path(self, ref: str) -> Path:
        family, sep, version = ref.partition("@")
        if not sep or not family or not version or "/" in ref or ".." in ref:
            raise PromptError(f"bad prompt ref {ref!r}: use FAMILY@VERSION, e.g. rerank@v1")
        for directory in self.directories:
            path = directory / family / f"{version}.j2"
            if path.exists():
                return path
        raise PromptError(f"prompt {ref!r} not found; available: {', '.join(self.list())}")

    def source(self, ref: str) -> str:
        return self.path(ref).read_text(encoding="utf-8")

    def sha256(self, ref: str) -> str:
        return hashlib.sha256(self.source(ref).encode()).hexdigest()

    def family(self, ref: str) -> Family:
        """The adapter of the prompt's family (prompts/families.py)."""
        name = ref.partition("@")[0]
        if name not in FAMILIES:
            raise PromptError(f"no adapter for prompt family {name!r} (prompts/families.py)")
        return FAMILIES[name]

    def input_model(self, ref: str) -> type[BaseModel]:
        return self.family(ref).inputs

    def output_kind(self, ref: str) -> str:
        """What the family's answer is: "explanation", "explained" (a listwise list with texts),
        "ranking" (labels), "label_logprobs", "yes_no_logprobs", "text" or "json"."""
        return self.family(ref).output

    def variables(self, ref: str) -> set[str]:
        """Top-level variables the template reads: contract tests check them, and the
        recommender builds only the optional inputs a template uses."""
        source = self.source(ref)
        if source not in self._variables:
            self._variables[source] = frozenset(meta.find_undeclared_variables(self.env.parse(source)))
        return set(self._variables[source])

    def blocks(self, ref: str) -> set[str]:
        """The blocks the template defines (system, user, opening, hook)."""
        return set(self.env.get_template(self._relative(ref)).blocks)

    def _relative(self, ref: str) -> str:
        path = self.path(ref)
        return f"{path.parent.name}/{path.name}"

    def render(self, ref: str, inputs: BaseModel) -> RenderedPrompt:
        expected = self.input_model(ref)
        if not isinstance(inputs, expected):
            raise PromptError(f"prompt {ref} takes {expected.__name__}, got {type(inputs).__name__}")
        rel = self._relative(ref)
        try:
            template = self.env.get_template(rel)
            ctx = template.new_context(inputs.model_dump())
            messages = []
            for role in ROLES:
                if role in template.blocks:
                    text = "".join(template.blocks[role](ctx)).strip()
                    if text:
                        messages.append({"role": role, "content": text})
            opening, hook = (" ".join("".join(template.blocks[b](ctx)).split()) if b in template.blocks else None
                             for b in ("opening", "hook"))
        except TemplateError as e:
            raise PromptError(f"prompt {ref} ({rel}) failed to render: {e}") from None
        if not messages:
            raise PromptError(f"prompt {ref} defines no system or user block")
        return RenderedPrompt(ref=ref, template_sha256=self.sha256(ref), messages=messages, opening=opening or "",
                              hook=hook)
