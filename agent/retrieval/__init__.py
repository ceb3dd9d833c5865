"""Candidate retrieval: semantic (Chroma), collaborative (co-occurrence), and their fusion."""
