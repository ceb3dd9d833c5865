"""Privacy: every shipped prompt, rendered for real users of a real store, holds no user id,
no redacted pattern (built-in e-mail/phone, configured ones) and no excluded field."""

import json
import shutil

import pytest

from agent.backends.fake import ScriptedFakeBackend, answer_schema
from agent.conversation import ChatSessions
from agent.errors import ConfigError
from agent.privacy import Redactor
from agent.types import Candidate, Interaction, Item
from prompts.registry import PromptRegistry
from tests.conftest import make_recommender

USER = "user-private-77"
SECRETS = ["jane.doe@example.com", "+1 (555) 123-4567", "555-987-6543", "ACME-1234"]
PRIVATE_TEXT = "Donated by jane.doe@example.com, call +1 (555) 123-4567 about card ACME-1234."
PLANTED = [Item(item_id=f"p{n}", title=f"Private Screening {n} (1995-1996)", text=PRIVATE_TEXT,
                categories=["Drama", "Comedy"], tags=["ask 555-987-6543", "jane.doe@example.com"]) for n in range(6)]


@pytest.fixture
def private_store(ingested, embedder, tmp_path):
    target = tmp_path / "data"
    shutil.copytree(ingested.data_dir, target)
    settings = ingested.model_copy(update={"data_dir": target, "redact_patterns": [r"ACME-\d+"],
                                           "prompt_exclude_fields": ["text"]})
    fake = ScriptedFakeBackend([answer_schema], repeat_last=True)
    rec = make_recommender(settings, embedder, fake)
    rec.store.upsert_items(PLANTED)
    rec.index.upsert(PLANTED)
    history = [Interaction(user_id=USER, item_id=f"p{n}", rating=5.0, timestamp=1_600_000_000 + n) for n in range(3)]
    history += [Interaction(user_id=USER, item_id=str(i), rating=r, timestamp=1_500_000_000 + i)
                for i, r in ((1, 5.0), (2, 2.0), (3, 4.5), (5, 1.0), (6, 4.0))]
    rec.store.upsert_interactions(history)
    yield rec, fake
    rec.store.close()


def prompt_texts(fake) -> list[str]:
    return [json.dumps(r.messages, ensure_ascii=False) for r in fake.requests]


def assert_private(texts: list[str]) -> None:
    assert texts
    for text in texts:
        assert USER not in text and "user-" not in text
        for secret in SECRETS + [PRIVATE_TEXT[:30]]:
            assert secret not in text, secret
        assert "ACME" not in text


def planted_candidates(rec) -> list[Candidate]:
    """The planted private items as candidates (the user rated them, so retrieval never would)."""
    return [Candidate(item=it, sources=["semantic"]) for it in rec.items(i.item_id for i in PLANTED).values()]


@pytest.mark.parametrize("ref", [r for r in PromptRegistry().list() if PromptRegistry().output_kind(r) in ("explained", "ranking")])
def test_rank_and_rerank_prompts_hold_nothing_private(private_store, ref):
    rec, fake = private_store
    cands = rec.retrieve(rec.history(USER), 20)[1]
    planted = planted_candidates(rec)
    r = rec.rerank(rec.history(USER), rec.profile_of(rec.history(USER)), planted[:2] + cands, k=3, prompt=ref)
    assert r.fallback_reason is None
    texts = prompt_texts(fake)
    assert any("Private Screening" in t for t in texts)  # the planted items did reach the prompt
    assert any("1995-1996" in t for t in texts)  # a span of years is not a phone number
    assert_private(texts)


SCORING = [r for r in PromptRegistry().list() if PromptRegistry().output_kind(r).endswith("_logprobs")]


@pytest.mark.parametrize("ref", SCORING)
def test_logprob_scoring_prompts_hold_nothing_private(private_store, ref):
    from evals.llm_scoring import score_candidates

    rec, fake = private_store
    history = rec.history(USER)
    profile = rec.profile_of(history)
    planted = planted_candidates(rec)
    mode = "labels" if PromptRegistry().output_kind(ref) == "label_logprobs" else "pointwise"
    scored = score_candidates(rec, history, profile, planted[:2] + rec.retrieve(history, 6)[1], mode=mode, prompt=ref)
    assert scored.error is None and scored.scores
    texts = prompt_texts(fake)
    assert any("Private Screening" in t for t in texts)
    assert_private(texts)


def test_profile_and_intent_prompts_hold_nothing_private(private_store):
    rec, fake = private_store
    r = rec.recommend(USER, k=3, profile_mode="llm")
    assert r.profile.narrative is not None
    agent = ChatSessions(rec, use_llm=True, k=3)
    session = agent.start(USER)
    agent.chat(session, "I'm jane.doe@example.com, phone 555-987-6543: something quirky with a heist vibe")
    families = {r.schema_name for r in fake.requests}
    assert {"intent", "explain"} <= families
    assert any("Private Screening" in t for t in prompt_texts(fake))
    assert_private(prompt_texts(fake))
    agent.sessions.close()


def test_redaction_rules():
    r = Redactor(patterns=[r"ACME-\d+"], exclude_fields=["tags"])
    assert r.text("mail a.b+c@mail.example.org now") == "mail [redacted] now"
    assert r.text("call +44 20 7946 0958 today") == "call [redacted] today"
    assert r.text("Heat (1995), 1995-1996, 2001: A Space Odyssey") == "Heat (1995), 1995-1996, 2001: A Space Odyssey"
    assert r.text("card ACME-99") == "card [redacted]"
    assert r.item(PLANTED[0]).tags == []
    with pytest.raises(ConfigError, match="RECAGENT_PROMPT_EXCLUDE_FIELDS"):
        Redactor(exclude_fields=["title"])
    with pytest.raises(ConfigError, match="regular expressions"):
        Redactor(patterns=["(unclosed"])


def test_enrich_prompts_hold_nothing_private(private_store):
    from agent.enrich import enrich

    rec, _ = private_store
    fake = ScriptedFakeBackend([json.dumps({"description": "A private screening of an old film for friends.",
                                            "tags": ["film"]})], repeat_last=True)
    report = enrich(rec.store, fake, PLANTED[:2], redactor=rec.redactor)
    assert report.written == 2
    texts = prompt_texts(fake)
    assert all("Private Screening" in t for t in texts)
    assert_private(texts)
