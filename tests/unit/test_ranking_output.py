"""Rank prompts' answers (candidate letters) and the persistent response cache."""

import re

import pytest

from agent.backends.base import ChatRequest
from agent.backends.cache import CachingBackend
from agent.backends.fake import ScriptedFakeBackend
from agent.errors import BackendError
from agent.pipeline.grounding import candidate_labels, parse_ranking, ranking_schema

LABELS = candidate_labels(20)
IDS = dict(zip(LABELS, [str(100 + i) for i in range(20)]))


def test_labels_continue_past_z():
    labels = candidate_labels(30)
    assert labels[:3] == ["A", "B", "C"] and labels[25:28] == ["Z", "AA", "AB"]
    assert len(set(labels)) == 30


def test_schema_pattern_accepts_exactly_k_known_letters():
    pattern = ranking_schema(LABELS, 3)["properties"]["ranking"]["pattern"]
    assert re.fullmatch(pattern, "C A T")
    assert not re.fullmatch(pattern, "C A")  # too few
    assert not re.fullmatch(pattern, "C A U")  # U is not a candidate
    wide = ranking_schema(candidate_labels(28), 2)["properties"]["ranking"]["pattern"]
    assert re.fullmatch(wide, "AB A") and not re.fullmatch(wide, "AC A")


def test_letters_map_back_to_ids_and_unknown_ones_stay_visible():
    parsed = parse_ranking('{"ranking": "C A Z"}', IDS)
    assert [e.item_id for e in parsed.entries] == ["102", "100", "Z"] and parsed.error is None


def test_cut_off_answer_keeps_only_complete_letters():
    parsed = parse_ranking('{"ranking": "C A B', IDS)
    assert [e.item_id for e in parsed.entries] == ["102", "100"] and parsed.truncated
    assert parse_ranking('{"ranking": ["D", "E"]}', IDS).entries[1].item_id == "104"
    assert parse_ranking("Sure! Here you go", IDS).error.startswith("invalid JSON")


def request(**kw):
    return ChatRequest(messages=[{"role": "user", "content": "rank"}], **kw)


def test_cache_answers_repeats_from_disk_and_never_starts_the_backend_for_them(tmp_path):
    fake = ScriptedFakeBackend(['{"ranking": "A"}'], repeat_last=True)
    cache = CachingBackend(fake, tmp_path / "r.sqlite")
    first = cache.complete(request())
    again = CachingBackend(lambda: pytest.fail("a cache hit must not create the backend"), tmp_path / "r.sqlite",
                           model=fake.model, context_window=8192)
    hit = again.complete(request())
    assert hit.cached and not first.cached and hit.content == first.content and hit.usage == first.usage
    assert (again.live_calls, again.hits) == (0, 1)
    assert len(fake.requests) == 1


def test_cache_key_covers_sampling_schema_and_model(tmp_path):
    fake = ScriptedFakeBackend(["x"], repeat_last=True)
    cache = CachingBackend(fake, tmp_path / "r.sqlite")
    cache.complete(request())
    cache.complete(request(temperature=0.7))
    cache.complete(request(seed=1))
    cache.complete(request(response_schema={"type": "object"}))
    other = ScriptedFakeBackend(["y"], repeat_last=True)
    other.model = "another-model"
    assert CachingBackend(other, tmp_path / "r.sqlite").complete(request()).content == "y"
    assert cache.live_calls == 4 and len(fake.requests) == 4


def test_a_call_after_close_is_a_backend_error_not_a_crash(tmp_path):
    # an explain worker left running after a failed request may call the closed cache
    fake = ScriptedFakeBackend(["x"], repeat_last=True)
    cache = CachingBackend(fake, tmp_path / "r.sqlite")
    cache.complete(request())
    cache.close()
    cache.close()  # twice is harmless
    with pytest.raises(BackendError, match="closed") as failed:
        cache.complete(request())
    assert failed.value.kind == "unavailable"
    with pytest.raises(BackendError, match="closed"):
        cache.count_tokens([{"role": "user", "content": "hi"}])


def test_failures_are_not_cached(tmp_path):
    fake = ScriptedFakeBackend([BackendError("down", kind="unavailable"), "ok"])
    cache = CachingBackend(fake, tmp_path / "r.sqlite")
    with pytest.raises(BackendError):
        cache.complete(request())
    assert cache.complete(request()).content == "ok"
