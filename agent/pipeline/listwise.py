"""The listwise LLM step (a prompt choice, e.g. rerank@v1): the model orders the candidates
and writes a title and explanation per item. Its answer is grounded (candidate ids only,
none seen, none twice), repaired once, and otherwise dropped for the candidates' order."""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.backends.base import ChatBackend, ChatRequest
from agent.errors import BackendError
from agent.pipeline.claims import Vocabulary, check
from agent.pipeline.evidence import EvidenceSet
from agent.pipeline.explain import Explained, template_texts
from agent.pipeline.grounding import (RankedEntry, candidate_labels, drop_shared_sentences, ground, parse_output,
                                      parse_ranking, ranking_schema, response_schema)
from agent.pipeline.prompt import PromptBuilder
from agent.types import Candidate, LLMCall, ProfileSummary, PromptInfo, Usage
from prompts.inputs import as_data


@dataclass
class ListwiseResult:
    entries: list[RankedEntry] = field(default_factory=list)  # grounded, in the model's order; empty on fallback
    instructions: str = ""  # the prompt's system text (an echo of it is junk)
    prompt: PromptInfo | None = None
    calls: list[LLMCall] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    warnings: list[str] = field(default_factory=list)
    fallback_reason: str | None = None


def rerank_listwise(backend: ChatBackend, prompts: PromptBuilder, profile: ProfileSummary,
                    candidates: list[Candidate], k: int, ref: str, sampling: dict) -> ListwiseResult:
    out = ListwiseResult()
    try:
        k_eff = min(k, len(candidates))
        ranking = prompts.registry.output_kind(ref) == "ranking"
        max_tokens = (4 * k_eff + 24) if ranking else (100 * k_eff + 50)
        fitted = prompts.fit(ref, profile, candidates, k_eff, max_tokens, backend)
        if fitted.warning:
            out.warnings.append(fitted.warning)
        rendered = fitted.rendered
        out.prompt = PromptInfo(ref=rendered.ref, template_sha256=rendered.template_sha256)
        out.instructions = next((m["content"] for m in rendered.messages if m["role"] == "system"), "")
        ids = [c.item.item_id for c in fitted.shown]
        label_ids = dict(zip(candidate_labels(len(ids)), ids)) if ranking else {}
        schema = ranking_schema(list(label_ids), k_eff) if ranking else response_schema(ids, k_eff)
        request = ChatRequest(messages=rendered.messages, response_schema=schema, schema_name="rerank",
                              max_tokens=max_tokens, **sampling)
        for attempt in (1, 2):
            try:
                resp = backend.complete(request)
            except BackendError as e:
                if e.kind != "bad_response" or attempt == 2:
                    raise
                # the server could not parse its own output: the same greedy request fails the
                # same way, so the one retry samples (another seed, temperature 0.7)
                out.warnings.append(f"model output unusable ({e}); retried once, sampling")
                request = request.model_copy(update={"seed": (request.seed or 0) + 1,
                                                     "temperature": max(request.temperature, 0.7)})
                continue
            out.usage = out.usage + resp.usage
            parsed = parse_ranking(resp.content, label_ids) if ranking else parse_output(resp.content)
            g = ground(parsed.entries, set(ids), prompts.ctx.seen)
            out.calls.append(LLMCall(raw=resp.content[:4000], finish_reason=resp.finish_reason,
                                     parse_error=parsed.error, returned=len(parsed.entries),
                                     out_of_candidate=g.out_of_candidate, duplicates=g.duplicates, seen=g.seen,
                                     usage=resp.usage, latency_ms=round(resp.latency_ms, 2), cached=resp.cached))
            problems = [parsed.error] if parsed.error else []
            if g.out_of_candidate:
                problems.append(f"ids not among the candidates: {', '.join(g.out_of_candidate[:5])}")
            if g.duplicates:
                problems.append(f"repeated ids: {', '.join(g.duplicates[:5])}")
            if g.seen:
                problems.append(f"items the user has seen: {', '.join(g.seen[:5])}")
            if g.entries and not parsed.error:
                if problems:
                    out.warnings.append("dropped from the model's answer: " + "; ".join(problems))
                out.entries = g.entries
                return out
            if attempt == 1:
                request = request.model_copy(update={"messages": rendered.messages + [
                    {"role": "assistant", "content": resp.content[:2000]},
                    {"role": "user", "content": "That answer was not usable (" + "; ".join(problems or ["no items"])
                     + "). Answer again with only the JSON object, using "
                     + ("candidate letters." if ranking else "candidate ids.")}]})
                continue
            if g.entries:  # truncated twice: keep the complete items it did give
                out.warnings.append("model output was cut off; kept its complete items")
                out.entries = g.entries
                return out
            out.fallback_reason = "invalid model output after one repair attempt: " + "; ".join(problems or ["no items"])
    except BackendError as e:
        out.fallback_reason = f"LLM call failed ({e.kind}): {e}"
    if out.fallback_reason:
        out.warnings.append("showing retrieval order without the LLM: " + out.fallback_reason)
    return out


def listwise_texts(entries: list[RankedEntry], evset: EvidenceSet, vocab: Vocabulary) -> list[Explained]:
    """Each item's texts: the model's, where they pass the claim checker, else its evidence template."""
    from_llm = {e.item_id: e for e in entries}
    # a sentence given for several items explains none of them
    own_text = dict(zip(from_llm, drop_shared_sentences([e.explanation for e in from_llm.values()])))
    out = []
    for position, (ev, ctx) in enumerate(zip(evset.evidence, evset.contexts)):
        hook, text = template_texts(ev, position)
        entry, flags, source, hook_source = from_llm.get(ev.item_id), [], "template", "template"
        if entry is not None and (entry.hook or entry.explanation):
            said = as_data(own_text[ev.item_id], 300)
            problems = check(said, ctx, vocab) if said else ["the same text was given for other items"]
            if problems:
                flags.append(f"explanation replaced ({problems[0]})")
            else:
                text, source = said, "llm"
            hook_problems = check(as_data(entry.hook, 80), ctx, vocab, kind="hook")
            if hook_problems:
                flags.append(f"personalized title replaced ({hook_problems[0]})")
            else:
                hook, hook_source = as_data(entry.hook, 80), "llm"
        out.append(Explained(hook=hook, explanation=text, source=source, hook_source=hook_source, flags=flags))
    return out
