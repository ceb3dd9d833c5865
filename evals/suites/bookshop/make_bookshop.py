"""Generate the synthetic bookshop dataset (books.csv, reads.csv) used by
evals/suites/bookshop-generic.yaml to show a non-MovieLens catalog with its own column
names. Readers favour two shelves; stars are higher on them. Deterministic:
    python evals/suites/bookshop/make_bookshop.py
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

SHELVES = {
    "fantasy": (["Dragon", "Crown", "Sword", "Witch", "Realm"], "a quest through enchanted lands, with magic and old prophecies"),
    "mystery": (["Murder", "Alibi", "Clue", "Detective", "Shadow"], "a detective untangles a baffling crime in a quiet town"),
    "romance": (["Heart", "Kiss", "Summer", "Wedding", "Promise"], "two people fall in love against the odds"),
    "science fiction": (["Star", "Robot", "Orbit", "Signal", "Colony"], "space travel, future technology and first contact"),
    "history": (["Empire", "War", "Revolution", "Dynasty", "Kings"], "a narrative history of a turning point in the past"),
    "cooking": (["Kitchen", "Bread", "Spice", "Feast", "Garden"], "recipes and techniques for home cooks"),
    "travel": (["Road", "Island", "Mountain", "River", "Journey"], "a travel memoir across distant landscapes"),
    "poetry": (["Verse", "Song", "Night", "Rain", "Silence"], "a collection of short lyrical poems"),
}
NOUNS = ["of Ash", "at Dawn", "in Winter", "of the North", "Returns", "Rising", "Lost", "and Salt", "of Glass",
         "Beneath", "Forever", "in Bloom", "of Echoes", "Unbound", "at Sea"]


def main(out: Path = Path(__file__).parent, seed: int = 7) -> None:
    rng = random.Random(seed)
    books, by_shelf = [], {s: [] for s in SHELVES}
    for shelf, (words, blurb) in SHELVES.items():
        for n in range(15):
            sku = f"BK-{len(books) + 1:04d}"
            name = f"{words[n % len(words)]} {NOUNS[(n * 7 + len(shelf)) % len(NOUNS)]}"
            books.append({"sku": sku, "name": name, "blurb": f"{name}: {blurb}.", "shelves": shelf})
            by_shelf[shelf].append(sku)
    reads = []
    t = 1_600_000_000
    for r in range(60):
        favourites = rng.sample(list(SHELVES), 2)
        read = set()
        for _ in range(rng.randint(12, 24)):
            shelf = rng.choice(favourites) if rng.random() < 0.75 else rng.choice(list(SHELVES))
            sku = rng.choice(by_shelf[shelf])
            if sku in read:
                continue
            read.add(sku)
            stars = rng.choice([4, 5, 5]) if shelf in favourites else rng.choice([1, 2, 3, 4])
            t += rng.randint(3_000, 90_000)
            reads.append({"reader": f"reader{r:03d}", "sku": sku, "stars": stars, "read_at": t})
    for name, rows in (("books.csv", books), ("reads.csv", reads)):
        with (out / name).open("w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)


if __name__ == "__main__":
    main()
