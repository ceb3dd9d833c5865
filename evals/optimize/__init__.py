"""`recagent eval optimize`: search prompt variants against a metric, then confirm the winner.

A search space (evals/optimize/*.yaml, `space.py`) names a base prompt, an objective and the
operators that make candidates from it (`edits.py`: instruction rewrites an LLM proposes from
the worst-scoring cases, few-shot demos from training users, optional input blocks toggled or
moved, output constraints). Every candidate is an ordinary versioned template, written under
the run folder as prompts/<family>/vN.j2 with a header naming its parent, operator and scores.
Selection (`search.py`) uses validation users only, by successive halving over growing
minibatches, within a budget of LLM calls and minutes; scores and LLM answers are cached, so a
rerun makes no calls and a killed run resumes. The last candidate standing is confirmed against
the incumbent on test users never seen in the search (paired bootstrap CI and permutation p)
and is adopted only when the CI is above zero (`recagent eval optimize --adopt`)."""
