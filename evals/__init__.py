"""Prompt A/B evaluation on held-out interactions.

    from evals import SuiteRun, load_suite
    summary = SuiteRun(load_suite("evals/suites/ml-latest-small-sampled.yaml", users=20), "runs/x").run()
"""

from evals.runner import SuiteRun
from evals.suite import Suite, load_suite

__all__ = ["Suite", "SuiteRun", "load_suite"]
