"""The claim checker measured on a labelled corpus (tests/data/checker/): hand-written explanations
and hooks for fixed items, each labelled true, or false with its kind. `recagent eval checker`
prints, per mode and per kind, how many false texts are caught and how many true ones rejected.

contexts.jsonl holds each item's evidence and the person's liked history (ids and ratings), frozen
when the corpus was written; texts.jsonl the labelled texts. The catalog comes from the
shipped data, so the checker sees the same vocabulary as in production."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from agent.ingest import movielens_source
from agent.pipeline.claims import ClaimContext, Vocabulary, claim_contexts
from agent.types import Evidence, HistoryEvent, Item

ROOT = Path(__file__).resolve().parents[1]
CORPUS_DIR = ROOT / "tests" / "data" / "checker"
BOOKSHOP_MAP = {"sku": "item_id", "name": "title", "blurb": "text", "shelves": "categories"}


@lru_cache(maxsize=None)
def catalog(dataset: str) -> dict[str, Item]:
    """The shipped catalog of `dataset` ("ml-latest-small" or "bookshop"), by item id."""
    from agent.ingest import Source, parse_item

    if dataset == "ml-latest-small":
        source = movielens_source(ROOT / "data" / "ml-latest-small")
    elif dataset == "bookshop":
        source = Source(items=ROOT / "evals" / "suites" / "bookshop" / "books.csv", column_map=BOOKSHOP_MAP)
    else:
        raise ValueError(f"unknown dataset {dataset!r}: ml-latest-small or bookshop")
    items = (parse_item(row) for _, row in source.item_rows() if "__error__" not in row)
    return {it.item_id: it for it in items}


@lru_cache(maxsize=None)
def vocabulary(dataset: str) -> Vocabulary:
    return Vocabulary.from_items(catalog(dataset).values())


@dataclass(frozen=True)
class Case:
    context: str
    kind: str  # "explanation" | "hook"
    text: str
    label: str  # "true" | "false"
    false_kind: str = ""  # what is false: wrong_number, unknown_title, unsupported, ...
    note: str = ""  # why a label was changed after the text was written (checked against the data)


def load_contexts(directory: Path = CORPUS_DIR) -> dict[str, tuple[str, ClaimContext]]:
    """Each context id → (dataset, the checker's context for its item)."""
    out = {}
    for line in (directory / "contexts.jsonl").read_text().splitlines():
        rec = json.loads(line)
        items = catalog(rec["dataset"])
        ev = Evidence.model_validate(rec["evidence"])
        liked = [HistoryEvent(item_id=i, rating=r) for i, r in rec["liked"]]
        ids = [e.item_id for e in liked] + [ev.item_id] + [b.item_id for b in ev.because + ev.series]
        out[rec["id"]] = rec["dataset"], claim_contexts([ev], liked, {i: items[i] for i in ids if i in items})[0]
    return out


SPLITS = {"dev": "texts.jsonl", "heldout": "texts-heldout.jsonl", "blind": "texts-blind.jsonl",
          "blind2": "texts-blind2.jsonl", "blind3": "texts-blind3.jsonl",
          "blind4": "texts-blind4.jsonl", "blind5": "texts-blind5.jsonl",
          "blind6": "texts-blind6.jsonl"}


def load_cases(directory: Path = CORPUS_DIR, split: str = "all") -> list[Case]:
    """The labelled texts of a split: "dev" (the checker was developed against it), "heldout"
    (written the same way, scored blind once, then developed against too), "blind" to "blind6"
    (written later by people who never read the checker, each scored once before it was read) or "all"."""
    names = list(SPLITS.values()) if split == "all" else [SPLITS[split]]
    lines = [line for name in names for line in (directory / name).read_text().splitlines()]
    return [Case(**json.loads(line)) for line in lines if line.strip()]


@dataclass
class Scores:
    """Per group: false texts caught, true texts rejected."""
    false_total: int = 0
    false_caught: int = 0
    true_total: int = 0
    true_rejected: int = 0

    @property
    def recall(self) -> float:  # of the false texts, caught
        return self.false_caught / self.false_total if self.false_total else float("nan")

    @property
    def false_rejection(self) -> float:  # of the true texts, rejected
        return self.true_rejected / self.true_total if self.true_total else float("nan")

    @property
    def precision(self) -> float:  # of the rejected texts, false
        rejected = self.false_caught + self.true_rejected
        return self.false_caught / rejected if rejected else float("nan")


def verdicts(mode: str, directory: Path = CORPUS_DIR, split: str = "all") -> list[tuple[Case, list]]:
    """Every case with the violations the `mode` checker finds in it."""
    from agent.pipeline.claims import checker_for

    contexts = load_contexts(directory)
    out = []
    for case in load_cases(directory, split):
        dataset, ctx = contexts[case.context]
        out.append((case, checker_for(mode)(case.text, ctx, vocabulary(dataset), kind=case.kind)))
    return out


def score(results: list[tuple[Case, list]]) -> dict[str, Scores]:
    """Scores overall ("all"), per text kind and per false kind."""
    groups: dict[str, Scores] = defaultdict(Scores)
    for case, violations in results:
        for key in ("all", f"kind:{case.kind}") + ((f"false:{case.false_kind}",) if case.label == "false" else ()):
            s = groups[key]
            if case.label == "false":
                s.false_total += 1
                s.false_caught += bool(violations)
            else:
                s.true_total += 1
                s.true_rejected += bool(violations)
    return dict(groups)


def table(by_mode: dict[str, dict[str, Scores]]) -> str:
    """A markdown table: per mode and group, false caught, true rejected, precision."""
    lines = ["| mode | group | false caught | true rejected | precision of a rejection |", "|---|---|---|---|---|"]
    for mode, groups in by_mode.items():
        for key in sorted(groups, key=lambda k: (k != "all", not k.startswith("kind:"), k)):
            s = groups[key]
            caught = f"{s.false_caught}/{s.false_total} ({s.recall:.1%})" if s.false_total else "–"
            rejected = f"{s.true_rejected}/{s.true_total} ({s.false_rejection:.1%})" if s.true_total else "–"
            precision = f"{s.precision:.1%}" if s.false_caught + s.true_rejected else "–"
            lines.append(f"| {mode} | {key} | {caught} | {rejected} | {precision} |")
    return "\n".join(lines)


def facts_sheet(directory: Path = CORPUS_DIR, history_shown: int = 25) -> str:
    """The corpus's contexts as a person reads them: what each text may say (facts.md)."""
    out = ["# The checker corpus's facts", "",
           "What the data says for each context of contexts.jsonl. A text is true when everything it states of",
           "the movie (or book), the person and other people is here; anything else (plot, cast, makers,",
           "awards, reception, a number or title not here) is false. Regenerate with",
           "`python -m evals.checker facts`.", ""]
    for line in (directory / "contexts.jsonl").read_text().splitlines():
        rec = json.loads(line)
        items, ev = catalog(rec["dataset"]), Evidence.model_validate(rec["evidence"])
        item = items[ev.item_id]
        out += [f"## {rec['id']}", "",
                f"- **Item:** {ev.title} · genres {', '.join(ev.categories) or 'none'} · year {ev.year or 'unknown'}",
                f"- **Its tags:** {', '.join(item.tags) or 'none'}"]
        if item.text:
            out.append(f"- **Its description:** {item.text}")
        for b in ev.because:
            rated = f"rated {b.rating:g}/5" if b.rating is not None else "liked"
            link = (f"{b.people} people who liked it also liked the item" if b.signal == "co-liked"
                    else "close in theme to the item (embedding similarity)")
            genres = ", ".join(items[b.item_id].categories) if b.item_id in items else "?"
            out.append(f"- **Link:** the person {rated} {b.title} ({genres}); {link}")
        for s in ev.series:
            rated = f"rated {s.rating:g}/5" if s.rating is not None else "liked"
            out.append(f"- **Series:** the person {rated} {s.title}; the item is "
                       f"{'a later part (sequel)' if s.relation == 'sequel' else 'an earlier part'} of that series")
        for c in ev.shared_categories:
            out.append(f"- **Shared genre:** {c.liked} of the person's liked titles are {c.category}")
        for t, n in zip(ev.shared_tags, ev.shared_tag_counts):
            out.append(f"- **Shared tag:** {n} of the person's liked titles are tagged {t!r}")
        out.append(f"- **Fans:** {ev.fans} people rated the item highly")
        liked = sorted(rec["liked"], key=lambda p: -(p[1] or 0))
        shown = [f"{items[i].title} {r:g}/5 ({', '.join(items[i].categories)})" for i, r in liked[:history_shown]
                 if i in items]
        out += [f"- **The person's liked titles:** {len(liked)} in all; the highest rated: " + "; ".join(shown), ""]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["facts"]:
        (CORPUS_DIR / "facts.md").write_text(facts_sheet())
        print(CORPUS_DIR / "facts.md")


class CorpusReplay:
    """A stand-in for a capable model behind an OpenAI-compatible endpoint: it answers each
    explanation request in open mode ({"hook", "why"}) with the corpus's texts for that item
    and person, true ones or false ones. Use as `FaultServer(answer=replay)`; `person(id)`
    picks whose contexts it answers from."""

    def __init__(self, truthful: bool = True, directory: Path = CORPUS_DIR):
        self.truthful, self.user = truthful, ""
        self._texts: dict[tuple[str, str, str], list[str]] = defaultdict(list)  # (user, item title, kind)
        titles = {}
        for line in (directory / "contexts.jsonl").read_text().splitlines():
            rec = json.loads(line)
            titles[rec["id"]] = (rec["user"], rec["evidence"]["title"])
        for case in load_cases(directory):
            if (case.label == "true") == truthful:
                user, title = titles[case.context]
                self._texts[(user, title, case.kind)].append(case.text)
        self.answered: list[tuple[str, str]] = []  # (why, hook) as sent

    def person(self, user: str) -> "CorpusReplay":
        self.user = user
        return self

    def covers(self, title: str) -> bool:
        return all(self._texts.get((self.user, title, kind)) for kind in ("explanation", "hook"))

    def __call__(self, body: dict) -> str:
        prompt = body["messages"][-1]["content"]
        title = next((line.removeprefix("Movie: ").split(" | ")[0] for line in prompt.splitlines()
                      if line.startswith("Movie: ")), "")
        retry = "rejected" in prompt  # a retry gets the next text
        whys, hooks = self._texts.get((self.user, title, "explanation")), self._texts.get((self.user, title, "hook"))
        if not whys or not hooks:
            return json.dumps({"hook": "Picked for you", "why": "It is picked for you."})
        why, hook = whys[retry % len(whys)], hooks[retry % len(hooks)]
        self.answered.append((why, hook))
        return json.dumps({"hook": hook, "why": why})
