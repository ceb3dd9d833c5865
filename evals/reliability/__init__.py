"""Reliability and security, measured: faults, prompt injection, fuzzing, data integrity and
privacy. `python -m evals.reliability` (`make reliability`) runs them and writes
docs/reliability.md; the fast parts run in `make test`."""
