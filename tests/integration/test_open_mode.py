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


def test_true_texts_from_a_capable_model_are_delivered_as_written(movielens):
    from agent.recommender import Recommender

    replay = CorpusReplay(truthful=True)
    delivered, hooks, total = 0, 0, 0
    with FaultServer(answer=replay) as server:
        settings = movielens.model_copy(update={"base_url": server.url + "/v1", "model": "stand-in"})
        with Recommender(settings) as rec:
            for user in USERS:
                replay.person(user)
                result = rec.recommend(user, k=10)
                assert result.explain_mode == "open" and result.prompt.ref.startswith("explain-open@")
                whys = {w for w, _ in replay.answered}
                first_hooks = {h for _, h in replay.answered}
                for item in result.items:
                    if replay.covers(item.title):
                        total += 1
                        delivered += item.explanation_source == "llm" and item.explanation in whys
                        hooks += item.hook_source == "llm" and item.personalized_title in first_hooks
                replay.answered.clear()
    assert total >= 10, total
    assert delivered >= 0.9 * total, (delivered, total)
    assert hooks >= 0.9 * total, (hooks, total)


def test_false_texts_from_a_capable_model_are_all_replaced(movielens):
    from agent.recommender import Recommender

    replay = CorpusReplay(truthful=False)
    replaced, total = 0, 0
    with FaultServer(answer=replay) as server:
        settings = movielens.model_copy(update={"base_url": server.url + "/v1", "model": "stand-in"})
        with Recommender(settings) as rec:
            for user in USERS:
                replay.person(user)
                result = rec.recommend(user, k=10)
                false_whys = {w for w, _ in replay.answered}
                false_hooks = {h for _, h in replay.answered}
                for item in result.items:
                    if replay.covers(item.title):
                        total += 1
                        assert item.explanation not in false_whys and item.personalized_title not in false_hooks
                        replaced += item.explanation_source == "template" and item.hook_source == "template"
                        assert any("template" in f for f in item.flags)
                replay.answered.clear()
    assert total >= 10 and replaced == total
