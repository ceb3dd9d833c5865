"""The last stages: diversity (MMR over the order), the evidence for each picked item, then
its texts (the explain stage's checked LLM text, the listwise step's checked text, or the
evidence template), as RecommendedItems handed on in rank order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from agent.errors import BackendError
from agent.options import RecommendOptions
from agent.pipeline.claims import Vocabulary
from agent.pipeline.context import RequestContext
from agent.pipeline.diversity import mmr
from agent.pipeline.evidence import evidence_for
from agent.pipeline.explain import Explained, ExplainStage, template_texts
from agent.pipeline.listwise import ListwiseResult, listwise_texts
from agent.types import Candidate, RecommendedItem, Usage


@dataclass
class Assembled:
    items: list[RecommendedItem]
    explanations: list[Explained]  # how each text came about (attempts, checker findings), for evals
    usage: Usage = field(default_factory=Usage)
    fallback_reason: str | None = None  # set when some text is a template because the model failed
    warnings: list[str] = field(default_factory=list)


def assemble(ctx: RequestContext, candidates: list[Candidate], listwise: ListwiseResult, opt: RecommendOptions,
             vocab: Vocabulary | None, explainer: ExplainStage | None, constraint: str | None,
             fallback_reason: str | None, on_item: Callable[[RecommendedItem], None]) -> Assembled:
    """`explainer`: the LLM writes each item's text (else the listwise step's text, checked
    against `vocab`, or templates).
    `fallback_reason`: why the LLM step already fell back (None: it did not, or was not asked)."""
    by_id = {c.item.item_id: c for c in candidates}
    from_llm = [e.item_id for e in listwise.entries]
    order = from_llm + [i for i in by_id if i not in from_llm]
    final = mmr(order, ctx.vectors(order) if opt.diversity > 0 else {}, opt.k, opt.diversity)
    evset = evidence_for(ctx, [by_id[i].item for i in final], constraint, listwise.instructions)
    out = Assembled(items=[], explanations=[], fallback_reason=fallback_reason)
    pipeline_order = opt.use_llm  # without the LLM step (or cold start) the order is a fallback

    def item(rank: int, x: Explained) -> RecommendedItem:
        ev = evset.evidence[rank - 1]
        cand = by_id[ev.item_id]
        source = "llm" if ev.item_id in from_llm else (
            "fallback" if from_llm or not pipeline_order or out.fallback_reason else "pipeline")
        return RecommendedItem(rank=rank, item_id=ev.item_id, title=cand.item.title, personalized_title=x.hook,
                               explanation=x.explanation, explanation_source=x.source, hook_source=x.hook_source,
                               source=source,
                               categories=cand.item.categories, scores=cand.scores, flags=x.flags, evidence=ev)

    if explainer is None:
        out.explanations = listwise_texts(listwise.entries, evset, vocab)
        out.items = [item(rank, x) for rank, x in enumerate(out.explanations, start=1)]
        for it in out.items:
            on_item(it)
        return out
    try:
        out.explanations = explainer.run(evset.taste, evset.contexts, on_item=lambda i, x: on_item(item(i + 1, x)))
    except BackendError as e:  # the server could not even start: every item from its template
        out.fallback_reason = f"LLM call failed ({e.kind}): {e}"
        out.warnings.append("explanations from templates: " + out.fallback_reason)
        out.explanations = [Explained(*template_texts(ev, n), source="template", hook_source="template")
                            for n, ev in enumerate(evset.evidence)]
        for rank, x in enumerate(out.explanations, start=1):
            on_item(item(rank, x))
    for x in out.explanations:
        out.usage = out.usage + x.usage
        if x.error is not None and out.fallback_reason is None:
            out.fallback_reason = f"LLM call failed ({x.error.kind}): {x.error}"
            out.warnings.append("some explanations are from templates: " + out.fallback_reason)
    out.items = [item(rank, x) for rank, x in enumerate(out.explanations, start=1)]
    return out
