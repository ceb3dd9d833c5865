"""The open mode end to end: `recommend` over MovieLens against an OpenAI-compatible endpoint
that answers like a capable model. The endpoint is a stand-in (a fake, named as such) replaying
the labelled corpus (tests/data/checker/) over real HTTP through the real client: true texts
must be delivered as written, false ones replaced by the flagged template."""

from pathlib import Path

import pytest

from evals.checker import CorpusReplay
from evals.reliability.fault_server import FaultServer

ROOT = Path(__file__).parents[2]
USERS = ("1", "414", "68", "274", "599")  # the corpus's contexts come from these people's lists


@pytest.fixture(scope="module")
def movielens(tmp_path_factory, cache_dir):
    """MovieLens ingested into a temp data dir (a minute or two: the embeddings of 9,742 movies)."""
    from agent.config import load_settings
    from agent.ingest import ingest, movielens_source
    from agent.recommender import Recommender

    settings = load_settings(data_dir=tmp_path_factory.mktemp("movielens"), cache_dir=cache_dir)
    with Recommender(settings) as rec:
        ingest(movielens_source(ROOT / "data" / "ml-latest-small"), rec.store, rec.index)
        rec.store.close()
    return settings


def covered_items(settings, truthful: bool) -> list[tuple[object, set[str], set[str]]]:
    """Each item the corpus covers, as delivered for the five users, with the sentences and hooks
    the stand-in sent for that list."""
    from agent.recommender import Recommender

    replay = CorpusReplay(truthful=truthful)
    out = []
    with FaultServer(answer=replay) as server:
        with Recommender(settings.model_copy(update={"base_url": server.url + "/v1", "model": "stand-in"})) as rec:
            for user in USERS:
                replay.person(user)
                result = rec.recommend(user, k=10)
                assert result.explain_mode == "open" and result.prompt.ref.startswith("explain-open@")
                sent_whys, sent_hooks = {w for w, _ in replay.answered}, {h for _, h in replay.answered}
                out += [(item, sent_whys, sent_hooks) for item in result.items if replay.covers(item.title)]
                replay.answered.clear()
    return out


def test_true_texts_from_a_capable_model_are_delivered_as_written(movielens):
    items = covered_items(movielens, truthful=True)
    delivered = sum(i.explanation_source == "llm" and i.explanation in whys for i, whys, _ in items)
    hooks = sum(i.hook_source == "llm" and i.personalized_title in sent for i, _, sent in items)
    assert len(items) >= 10, len(items)
    assert delivered >= 0.9 * len(items) and hooks >= 0.9 * len(items), (delivered, hooks, len(items))


def test_false_texts_from_a_capable_model_are_all_replaced(movielens):
    items = covered_items(movielens, truthful=False)
    assert len(items) >= 10
    for item, whys, hooks in items:
        assert item.explanation not in whys and item.personalized_title not in hooks
        assert item.explanation_source == "template" and item.hook_source == "template"
        assert any("template" in f for f in item.flags)
