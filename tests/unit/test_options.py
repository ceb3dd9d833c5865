"""One options model with its bounds in one place, and the generated configuration reference."""

from pathlib import Path

import pytest

from agent.errors import InputError
from agent.options import RecommendOptions


@pytest.mark.parametrize("changes, message", [
    ({"k": 0}, "k=0 is out of range: use 1 to 50"),
    ({"n_candidates": 101}, "n_candidates=101 is out of range: use 1 to 100"),
    ({"diversity": 1.5}, "diversity=1.5 is out of range: use 0 to 1"),
    ({"profile_mode": "chatty"}, "profile_mode: Input should be 'deterministic' or 'llm'"),
    ({"temperature": 0.3}, "unknown option(s) temperature"),
])
def test_bad_options_say_what_is_allowed(changes, message):
    with pytest.raises(InputError) as e:
        RecommendOptions.of(**changes)
    assert message in str(e.value)


def test_changes_apply_over_given_options_and_the_service_shares_the_bounds():
    from agent.service import RecommendRequest

    base = RecommendOptions(k=5, use_llm=False)
    assert RecommendOptions.of(base, diversity=0.0) == RecommendOptions(k=5, use_llm=False, diversity=0.0)
    body = RecommendRequest(user_id="1", k=7)
    assert RecommendOptions.of(body) == RecommendOptions(k=7)  # the request's own fields are not options
    for name, info in RecommendOptions.model_fields.items():
        assert RecommendRequest.model_fields[name].metadata == info.metadata, name


def test_the_configuration_reference_is_current():
    from agent.config import configuration_markdown

    doc = Path(__file__).parents[2] / "docs" / "configuration.md"
    assert doc.read_text() == configuration_markdown(), "regenerate: recagent config --markdown > docs/configuration.md"


def test_the_embedded_servers_threads_leave_out_a_core_busy_now(monkeypatch):
    """A process started seconds ago is not in the 1-minute load average yet; the CPU sampled
    at start sees it."""
    import agent.config as config

    monkeypatch.setattr(config.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(config.os, "getloadavg", lambda: (0.3, 0.2, 0.1))
    for used_percent, free in ((2.0, 2), (55.0, 1), (100.0, 1)):
        monkeypatch.setattr(config.psutil, "cpu_percent", lambda interval, p=used_percent: p)
        config.free_cores.cache_clear()
        assert config.free_cores() == free
    monkeypatch.setattr(config.os, "getloadavg", lambda: (1.4, 1.0, 0.5))  # a core busy for a minute
    monkeypatch.setattr(config.psutil, "cpu_percent", lambda interval: 3.0)
    config.free_cores.cache_clear()
    assert config.free_cores() == 1
    config.free_cores.cache_clear()
