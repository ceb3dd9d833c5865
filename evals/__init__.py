"""Prompt A/B evaluation on held-out interactions.

    from evals import SuiteRun, load_suite
    summary = SuiteRun(load_suite("evals/suites/ml-latest-small-sampled.yaml", users=20), "runs/x").run()
"""

__all__ = ["Suite", "SuiteRun", "load_suite"]


def __getattr__(name: str):
    """Imported when first asked for: every `recagent` start imports evals.cli, and the runner
    brings scipy.stats with it."""
    if name == "SuiteRun":
        from evals.runner import SuiteRun

        return SuiteRun
    if name in ("Suite", "load_suite"):
        from evals import suite

        return getattr(suite, name)
    raise AttributeError(f"module 'evals' has no attribute {name!r}")
