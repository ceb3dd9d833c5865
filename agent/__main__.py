"""`python -m agent …` is the `recagent` command."""

from agent.cli import main

main()
