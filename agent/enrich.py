"""LLM-written descriptions and tags for items whose catalog text is thin (`recagent enrich`).

They change only what is embedded for semantic search. Prompts, explanations and the catalog
keep the catalog's own text, so nothing a model made up is ever shown as a fact. Each text is
stored under its version (prompt, template sha, model) with the item's content hash: another
prompt or model writes new texts, an edited item is described again, and a rerun reuses what
exists."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from pydantic import BaseModel, ValidationError

from agent.backends.base import ChatRequest
from agent.errors import BackendError
from agent.pipeline.grounding import complete_sentences, is_degenerate
from agent.privacy import Redactor
from agent.types import Item
from prompts.inputs import EnrichInputs, PromptItem, as_data
from prompts.registry import PromptRegistry

ENRICH_PROMPT = "enrich@v1"
THIN_TAGS = 3  # an item without description text and with fewer tags than this is thin
MAX_TAGS = 5
MIN_NEW_WORDS = 3  # a description must say something the title and categories do not
SCHEMA = {"type": "object", "additionalProperties": False, "required": ["description", "tags"],
          "properties": {"description": {"type": "string", "maxLength": 240},
                         "tags": {"type": "array", "maxItems": MAX_TAGS, "items": {"type": "string", "maxLength": 30}}}}


class Enrichment(BaseModel):
    description: str
    tags: list[str]


@dataclass
class EnrichReport:
    version: str
    written: int = 0
    reused: int = 0
    failed: Counter = field(default_factory=Counter)  # reason -> items


def is_thin(item: Item) -> bool:
    return not item.text.strip() and len(item.tags) < THIN_TAGS


def thin_items(items: list[Item], popularity: Mapping[str, int], limit: int | None = None) -> list[Item]:
    """The thin items, most interacted-with first (where search quality matters most)."""
    thin = sorted((i for i in items if is_thin(i)), key=lambda i: (-popularity.get(i.item_id, 0), i.item_id))
    return thin if limit is None else thin[:limit]


def version_of(prompt: str, model: str, registry: PromptRegistry | None = None) -> str:
    return f"{prompt}:{(registry or PromptRegistry()).sha256(prompt)[:12]}:{model}"


def enrich(store, backend, items: list[Item], prompt: str = ENRICH_PROMPT, registry: PromptRegistry | None = None,
           redactor: Redactor | None = None, progress: Callable[[int], None] | None = None) -> EnrichReport:
    """Describe `items` that have no text of this version yet and store what passes checks.
    A failed call or unusable answer is counted by reason and skipped, never raised.
    `redactor` (the settings' one) keeps personal data in catalog text out of the prompt."""
    registry, redactor = registry or PromptRegistry(), redactor or Redactor()
    report = EnrichReport(version=version_of(prompt, backend.model, registry))
    have = store.enrichments(report.version)
    for item in items:
        if item.item_id in have:
            report.reused += 1
        else:
            try:
                e = describe(backend, registry, prompt, redactor.item(item))
                store.put_enrichment(item, report.version, e.description, e.tags)
                report.written += 1
            except BackendError as err:
                report.failed[f"LLM call failed ({err.kind})"] += 1
            except ValueError as err:
                report.failed[str(err)] += 1
        if progress:
            progress(1)
    return report


def describe(backend, registry: PromptRegistry, prompt: str, item: Item) -> Enrichment:
    """One item's description and tags; ValueError if the answer is not usable. `item` is
    shown as given: redact it first."""
    inputs = EnrichInputs(item=PromptItem(id=item.item_id, title=as_data(item.title, 120),
                                          categories=[as_data(c, 40) for c in item.categories[:6]],
                                          tags=[as_data(t, 30) for t in item.tags[:MAX_TAGS]]))
    resp = backend.complete(ChatRequest(messages=registry.render(prompt, inputs).messages, max_tokens=160,
                                        temperature=0.0, seed=0, response_schema=SCHEMA, schema_name="enrich"))
    try:
        raw = Enrichment.model_validate_json(resp.content)
    except ValidationError:
        raise ValueError("invalid JSON answer") from None
    description = complete_sentences(as_data(raw.description, 240), 240)[0]
    if is_degenerate(description, min_words=4):
        raise ValueError("unusable description")
    known = set(_words(" ".join([item.title, *item.categories, *item.tags])))
    if len(set(_words(description)) - known) < MIN_NEW_WORDS:
        raise ValueError("the description only repeats the catalog entry")
    tags = list(dict.fromkeys(t for t in (as_data(t, 30).lower() for t in raw.tags) if any(c.isalpha() for c in t)))
    return Enrichment(description=description, tags=tags[:MAX_TAGS])


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z][a-z'-]+", text.lower())


def with_enrichment(item: Item, enrichment: tuple[str, list[str]] | None) -> Item:
    """What gets embedded for `item`: its own text and tags, then the written ones."""
    if enrichment is None:
        return item
    description, tags = enrichment
    known = {t.lower() for t in item.tags}
    return item.model_copy(update={"text": " ".join(p for p in (item.text, description) if p),
                                   "tags": item.tags + [t for t in tags if t.lower() not in known]})


def embed_enrichments(store, index, version: str | None = None, batch_size: int = 512) -> int:
    """Re-embed the items that have written text (of `version`, default each one's newest)."""
    written = store.enrichments(version)
    items = store.get_items(written)
    enriched = [with_enrichment(items[i], written[i]) for i in written if i in items]
    for start in range(0, len(enriched), batch_size):
        index.upsert(enriched[start:start + batch_size])
    if enriched:
        index.save_vectors()
    return len(enriched)
