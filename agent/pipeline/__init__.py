"""The recommendation pipeline's stages, one module each, in order: profile, candidates,
order (fusion), prompt, listwise (the LLM ranking step, a prompt choice), diversity,
evidence, explain (the LLM phrasing step) and claims (the checker); grounding parses and
grounds model output. Each stage takes the request's RequestContext (context.py) and
returns values; none edits its inputs.

Rule: modules here import agent.types, agent.errors, agent.store, agent.retrieval,
agent.backends.base and prompts, never agent.recommender, the CLI, the service or evals."""
