"""Template edits: each operator turns a parent template's source into a candidate's source.

A template is a header comment, a `system` block (the instructions), a `user` block (the
inputs) and, for some families, more blocks. The user block's optional input blocks are its
top-level `{% if %}` / `{% for %}` statements: a fact line that shows only when its data exists
(recency, ratings, tags, evidence lines). Plain lines and the data fence stay where they are."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

HEADER = re.compile(r"\A\s*\{#.*?#\}\s*", re.DOTALL)
OPENS = re.compile(r"\{%-?\s*(if|for)\b")
CLOSES = re.compile(r"\{%-?\s*(endif|endfor)\b")
MAX_INSTRUCTIONS = 1500  # characters of a proposed rewrite


@dataclass(frozen=True)
class Edit:
    """A candidate before it has a version: its source (without header) and how it was made."""
    body: str
    operator: str
    detail: str


def body_of(source: str) -> str:
    """The template without its leading header comment: what decides the prompt's text."""
    return HEADER.sub("", source, count=1)


def body_sha(source: str) -> str:
    """Scores are kept per body: a header rewritten with scores leaves them valid."""
    return hashlib.sha256(body_of(source).encode()).hexdigest()[:16]


def _block(body: str, name: str) -> re.Match | None:
    return re.search(r"(\{%-?\s*block\s+" + name + r"\s*-?%\}\n?)(.*?)(\{%-?\s*endblock\s*-?%\})", body, re.DOTALL)


def instructions(body: str) -> str:
    m = _block(body, "system")
    return m.group(2).strip() if m else ""


def with_instructions(body: str, text: str) -> str:
    m = _block(body, "system")
    if m is None:
        raise ValueError("the template has no system block to edit")
    return body[:m.start(2)] + text.strip() + "\n" + body[m.end(2):]


def is_plain(text: str) -> bool:
    """No Jinja syntax: text an LLM wrote or a demo copied from data may be placed as is."""
    return not re.search(r"\{[{%#]|[}%#]\}", text)


def raw(text: str) -> str:
    """Text placed in a template verbatim, never evaluated."""
    return text if is_plain(text) else "{% raw %}" + text.replace("{% endraw %}", "") + "{% endraw %}"


def units(block: str) -> list[list[str]]:
    """The block's lines grouped into top-level statements: an `if`/`for` with its body up to
    the matching end, or a single line."""
    out, depth = [], 0
    for line in block.splitlines(keepends=True):
        if depth == 0:
            out.append([])
        out[-1].append(line)
        depth += len(OPENS.findall(line)) - len(CLOSES.findall(line))
        depth = max(depth, 0)
    return out


def optional_units(block_units: list[list[str]], body: str) -> list[int]:
    """Indexes of the optional input blocks: conditional or looped data lines, not the retry
    notice (`problem`), not the data fence, and not the only place an input is read (the
    candidates of a ranking prompt are not optional)."""
    def droppable(u: list[str]) -> bool:
        text = "".join(u)
        return (bool(OPENS.match(u[0].lstrip())) and "problem" not in u[0] and "catalog_data" not in text
                and all(re.search(r"\b" + name + r"\b", body.replace(text, "")) for name in _roots(text)))
    return [i for i, u in enumerate(block_units) if droppable(u)]


def _roots(text: str) -> set[str]:
    """The inputs a piece of template reads: the first name of each expression that is not a
    loop variable."""
    loops = set(re.findall(r"\{%-?\s*for\s+(\w+)", text)) | set(re.findall(r"\{%-?\s*set\s+(\w+)", text))
    exprs = re.findall(r"\{[{%]-?\s*(?:for\s+\w+\s+in\s+|if\s+(?:not\s+)?|elif\s+)?([a-z_]\w*)", text)
    return {e for e in exprs if e not in loops | {"endif", "endfor", "else", "set", "for", "if", "raw"}}


def block_edits(body: str, drop: bool = True, move: bool = True) -> list[Edit]:
    m = _block(body, "user")
    if m is None:
        return []
    parts = units(m.group(2))
    optional = optional_units(parts, body)
    out = []

    def rebuilt(new_parts: list[list[str]]) -> str:
        return body[:m.start(2)] + "".join("".join(u) for u in new_parts) + body[m.end(2):]

    for i in optional:
        name = _unit_name(parts[i])
        if drop:
            out.append(Edit(rebuilt(parts[:i] + parts[i + 1:]), "blocks", f"without the {name} block"))
        if move and i - 1 in optional:
            swapped = parts[:i - 1] + [parts[i], parts[i - 1]] + parts[i + 1:]
            out.append(Edit(rebuilt(swapped), "blocks", f"the {name} block before the {_unit_name(parts[i - 1])} block"))
    return out


def _unit_name(unit: list[str]) -> str:
    """A block's name from what its opening statement reads: `{% if item.shared_tags %}` ->
    shared_tags, `{% if not item.because %}` -> no-because (the fallback when there is none)."""
    found = re.search(r"(?:\bin|\bif)\s+(not\s+)?([\w.]+)", unit[0])
    if not found:
        return unit[0].strip()[:30]
    return ("no-" if found.group(1) else "") + found.group(2).rsplit(".", 1)[-1]


def constraint_edit(body: str, sentence: str) -> Edit:
    text = instructions(body)
    return Edit(with_instructions(body, text + "\n" + raw(sentence.strip())), "constraints", sentence.strip())


def demos_edit(body: str, demos: list[str], label: str) -> Edit:
    text = instructions(body) + "\nExamples of good answers:\n" + "\n".join(raw(d) for d in demos)
    return Edit(with_instructions(body, text), "demos", label)


def rewrite_edit(body: str, proposed: str, label: str) -> Edit | None:
    """A proposed instruction text as a candidate; None when it is empty or too long. The
    parent's data-fence rule is kept: appended when the proposal lost it."""
    text = proposed.strip()
    if len(text) < 20 or len(text) > MAX_INSTRUCTIONS:
        return None
    fence_rules = [line for line in instructions(body).splitlines() if "<catalog_data>" in line]
    kept = "\n" + fence_rules[0].strip() if fence_rules and "<catalog_data>" not in text else ""
    return Edit(with_instructions(body, raw(text) + kept), "rewrite", label)


SHINGLE = 6  # words in a row that count as copied
_TITLED = re.compile(r"[A-Z][^,;:.]*? \(\d{4}\)")  # "Contact (1997)"


def copied_from(proposed: str, brief: list[str]) -> str | None:
    """What a proposal copies from the proposer's brief (the goal and the worst cases), or None.
    A copied case puts validation people's items into a prompt every person would get (and
    fits those few people); a copied goal is the scorer's wording, not an instruction."""
    words = re.findall(r"\w[\w'-]*", proposed.lower())
    shingles = {tuple(words[i:i + SHINGLE]) for i in range(len(words) - SHINGLE + 1)}
    for line in brief:
        for title in _TITLED.findall(line):
            if title.lower() in proposed.lower():
                return f"it names {title}, an item from the worst cases"
        ws = re.findall(r"\w[\w'-]*", line.lower())
        if any(tuple(ws[i:i + SHINGLE]) in shingles for i in range(len(ws) - SHINGLE + 1)):
            return f"it copies the brief: {line[:60]!r}"
    return None


def header(parent: str, operator: str, detail: str, scores: str = "") -> str:
    line = f"candidate of `recagent eval optimize`: parent {parent}; {operator}: {detail.rstrip('.')}"
    return "{# " + (line + (f". {scores}" if scores else "")).replace("#}", "# }") + " #}\n"
