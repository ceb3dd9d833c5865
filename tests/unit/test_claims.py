"""The claim checker: hand-made false explanations of every kind must be caught, true ones
must pass (including the false ones seen from the default model on MovieLens user 1)."""

import re

import pytest

from agent.pipeline.claims import ClaimContext, Vocabulary, check, check_list, claim_contexts, skeleton
from agent.pipeline.evidence import build_evidence
from agent.retrieval.collaborative import CooccurrenceIndex
from agent.types import CategoryShare, Evidence, HistoryEvent, Item, LikedLink, SeriesLink

CATALOG = [
    Item(item_id="1", title="Back to the Future Part II (1989)", categories=["Adventure", "Comedy", "Sci-Fi"],
         tags=["time travel"]),
    Item(item_id="2", title="Back to the Future Part III (1990)", categories=["Adventure", "Comedy", "Sci-Fi"],
         tags=["time travel"]),
    Item(item_id="3", title="The Lion King (1994)", categories=["Animation", "Children", "Musical"], tags=["disney"]),
    Item(item_id="4", title="The Godfather (1972)", categories=["Crime", "Drama"], tags=["mafia"]),
    Item(item_id="5", title="Avengers: Infinity War - Part I (2018)", categories=["Action", "Adventure", "Sci-Fi"]),
    Item(item_id="6", title="Captain America: Civil War (2016)", categories=["Action", "Sci-Fi"]),
    Item(item_id="7", title="Aladdin (1992)", categories=["Animation", "Children", "Comedy", "Musical"],
         tags=["disney"]),
    Item(item_id="8", title="Twelve Monkeys (1995)", categories=["Mystery", "Sci-Fi", "Thriller"],
         tags=["twist ending", "time travel"]),
    Item(item_id="9", title="Fight Club (1999)", categories=["Action", "Crime", "Drama", "Thriller"],
         tags=["twist ending", "dark comedy"]),
    Item(item_id="10", title="The Usual Suspects (1995)", categories=["Crime", "Mystery", "Thriller"],
         tags=["twist ending", "mafia", "dark comedy", "disney"]),
    Item(item_id="11", title="Dr. Strangelove or: How I Learned to Stop Worrying and Love the Bomb (1964)",
         categories=["Comedy", "War"]),
    Item(item_id="12", title="Best in Show (2000)", categories=["Comedy"]),
    Item(item_id="13", title="Air Force One (1997)", categories=["Action", "Thriller"]),
]
VOCAB = Vocabulary.from_items(CATALOG, min_tag_items=2)
BY_ID = {it.item_id: it for it in CATALOG}
# the person rated these: Part III 4, Godfather 5, Twelve Monkeys 4.5; Aladdin 1 (not liked)
LIKED = [HistoryEvent(item_id="2", rating=4.0), HistoryEvent(item_id="4", rating=5.0),
         HistoryEvent(item_id="8", rating=4.5)]


def context(item_id="1", because=("2",), people=26) -> ClaimContext:
    it = BY_ID[item_id]
    ev = Evidence(item_id=it.item_id, title=it.title, year=int(it.title[-5:-1]), categories=it.categories,
                  tags=it.tags, fans=120,
                  because=[LikedLink(item_id=b, title=BY_ID[b].title, rating=4.0, signal="co-liked", people=people)
                           for b in because],
                  shared_categories=[CategoryShare(category=c, liked=2) for c in it.categories[:1]])
    ctx = claim_contexts([ev], LIKED, BY_ID, instructions="Use only the facts given: no plot, actors or awards.")[0]
    return ctx


def kinds(text, ctx=None, kind="explanation"):
    return {v.kind for v in check(text, ctx or context(), VOCAB, kind)}


@pytest.mark.parametrize("text", [
    "26 people who liked Back to the Future Part III (1990), which you rated 4/5, also liked this.",
    "Another time travel adventure, like many of the Adventure movies you liked.",
    "It is a Sci-Fi comedy, and you enjoy comedies.",
    "You liked Back to the Future Part III, so this 1989 adventure should land.",
    "Released in the 1980s, it shares fans with Back to the Future Part III, which you rated 4/5.",
    "You love Crime movies, and 120 people rated this highly.",
    "26 people who liked Back to the Future Part III (1990) (you rated it 4/5) also liked this.",
    "2 of the movies you liked are Adventure, and so is this.",
    "Liked by Back to the Future Part III fans: 26 of them, and you gave it 4/5.",
    "You rated Back to the Future Part III 4 out of 5, and 26 of its fans liked this.",
    "You won't regret it: 26 people who liked Back to the Future Part III also liked this.",
    # near misses of the rules below: a liked title as the subject of a true sentence, "the story"
    "Back to the Future Part III is one you rated 4/5, and 26 of its fans liked this.",
    "If you liked Back to the Future Part III, you will like this one: 26 of its fans did.",
    "You gave Back to the Future Part III a 4/5 rating, and 26 of its fans liked this.",
    "26 people who liked Back to the Future Part III (you liked it) also liked this.",
    "Since you enjoyed this kind of movie, 26 fans of Back to the Future Part III did too.",
    "It is highly rated by Back to the Future Part III fans: 26 of them liked it.",
    "It has positive ratings from fans of Back to the Future Part III, 26 of them.",
    "It is both Adventure and Comedy, and 26 fans of Back to the Future Part III liked it.",
    "Both Adventure and Comedy, it drew 26 fans of Back to the Future Part III.",
    "A 1989 film that 26 fans of Back to the Future Part III liked too.",
    "Since you liked Back to the Future Part III (4/5), note that 26 of its fans liked this.",
    "Back to the Future Part III, which you have rated 4/5, shares 26 fans with it.",
    "With your rating of 4/5 for Back to the Future Part III, this is next: 26 of its fans agree.",
    "It is an Adventure, and 26 people who liked Back to the Future Part III liked it too.",
    # near misses of a liking said of what came before it, and of a liked title recommended
    "It is the kind of Adventure you loved, and 26 fans of Back to the Future Part III liked it.",
    "26 fans of Back to the Future Part III, a movie you rated 4/5, liked this.",
    "Like the Sci-Fi movies you enjoyed, it is a time travel Adventure.",
    "If Back to the Future Part III was your kind of movie, you will like this one too.",
    "You might like this one: 26 fans of Back to the Future Part III did.",
    "More of what you loved: 26 fans of Back to the Future Part III liked it.",
    "It is a Sci-Fi comedy-adventure, and 26 people who liked Back to the Future Part III also liked it.",
    "It is an Adventure with positive ratings from viewers, including 26 who liked Back to the Future Part III.",
    "It has positive ratings from viewers, including Adventure fans: 26 liked Back to the Future Part III.",
    # near misses of a movie that fits another movie, and of worth denied
    "It fits you: 26 fans of Back to the Future Part III liked it.",
    "It fits Back to the Future Part III fans: 26 of them liked it.",
    "It fits well with Back to the Future Part III, which you rated 4/5: 26 of its fans liked this.",
    "You rated Back to the Future Part III 4/5, not a low score, and 26 of its fans liked this.",
    "Back to the Future Part II is next: you rated Back to the Future Part III 4/5, and 26 of its fans liked this.",
    # explain-why@v6's given openings, finished the way the model finished them; near misses of a fragment
    "If you liked Back to the Future Part III, you might also enjoy Back to the Future Part II.",
    "Since you rated Back to the Future Part III 4/5, and 26 people who liked it also liked this movie, it fits you "
    "as an Adventure.",
    "Because you liked Back to the Future Part III, this movie is an Adventure, like 2 of the movies you liked.",
    "As a fan of Back to the Future Part III, you might enjoy this Adventure.",
    "Since you rated Back to the Future Part III 4/5, this Adventure fits you.",
    "Given your 4/5 for Back to the Future Part III, this movie is an Adventure, like 2 of the movies you liked.",
])
def test_true_explanations_pass(text):
    assert kinds(text) == set(), text


@pytest.mark.parametrize("text,kind", [
    # the default model's own false claims on user 1 (issue: all passed the old checks)
    ("You like the movie 'The Lion King' and it's a classic Disney film with a twist ending.", "false_like"),
    ("You like the movie 'The Lion King' and it's a classic film.", "unknown_title"),
    ("It is a Disney film, full of fun.", "wrong_tag"),
    ("A film with a twist ending you will not forget.", "wrong_tag"),
    # titles outside the evidence, in full and quoted
    ("If The Usual Suspects worked for you, this will too.", "unknown_title"),
    ("It plays like a lighter 'Fight Club' for the whole family.", "unknown_title"),
    # "you liked X" for X not rated highly, for the item itself, and by a shortened title
    ("You loved Aladdin, so this is for you.", "false_like"),
    ("You already like Back to the Future Part II, so watch it again.", "liked_item"),
    ("You like Avengers, and this is more of it.", "false_like"),
    ("You've watched Fight Club twice, so try this.", "false_like"),
    ("Your favourite heist capers all lead here.", "false_like"),
    ("You enjoy Musical movies, and this one sings.", "false_like"),
    # categories, years, numbers the data does not have
    ("A gripping crime thriller for a quiet night.", "wrong_category"),
    ("This animated classic brings back the magic.", "wrong_category"),
    ("Released in 1985, it is a fun ride.", "wrong_year"),
    ("A 1970s favourite that still holds up today.", "wrong_year"),
    ("Over 500 people rated it highly this year.", "wrong_number"),
    # plot, cast and reception; a genre of the linked title is no genre of this item
    ("Praised for its strong performances and clever plot.", "unsupported"),
    # what the default model wrote for users 1 and 414 once the JSON wrapper was gone (all passed then)
    ("Back to the Future Part II is a highly rated adventure that has earned you a 4/5 rating.", "liked_item"),
    ("It is highly rated by many people, including you.", "liked_item"),
    ("Back to the Future Part II is a highly rated adventure that has received positive reviews.", "unsupported"),
    ("Back to the Future Part II is a classic that has been highly rated by many people.", "unsupported"),
    ("Back to the Future Part II by Robert Zemeckis is highly rated, with 120 people liking it.", "unsupported"),
    ("It has received a 4/5 rating from 26 people who liked Back to the Future Part III.", "wrong_number"),
    ("A must-see Adventure that 120 people rated highly.", "unsupported"),
    ("I'm sorry, but I can't assist with that request.", "junk"),
    ("It is a comedy that is highlyRated, like 2 of the movies you liked.", "junk"),
    ("As an AI language model, I do not have personal preferences, but here's a new sentence:", "junk"),
    ("One of the most popular comedies ever made.", "unsupported"),
    ("Like Twelve Monkeys, it is a mystery thriller.", "wrong_category"),
    # what the sentence-only prompt wrote for users 1 and 414 (all passed then)
    ("Back to the Future Part III is a highly rated comedy that 26 people liked.", "wrong_subject"),
    ("The movie Back to the Future Part III (1990) is an adventure with 26 fans.", "wrong_subject"),
    ("You probably enjoyed this movie because it was highly rated.", "liked_item"),
    ("You gave Back to the Future Part II a 5/5 rating, and 26 people liked it.", "liked_item"),
    ("You've already read the movie Back to the Future Part II, an Adventure.", "liked_item"),
    ("It is a story about a family who travels through time.", "unsupported"),
    ("A highly anticipated Adventure that 120 people rated highly.", "unsupported"),
    ("It is Adventure, unlike the other notes you mentioned.", "junk"),
    ("Your last note was rejected: it repeats the instructions instead of explaining.", "junk"),
    ("Ratings are accepted, but this follows the facts: 120 people rated it highly.", "junk"),
    # from the 100-user run of explain-why@v2, read by hand (all passed then)
    ("It has received positive ratings from Back to the Future Part III and other fans alike.", "wrong_subject"),
    ("It has been highly rated by Back to the Future Part III, a popular choice.", "wrong_subject"),
    ("It is highly rated by viewers, including Back to the Future Part III, and tagged time travel.", "wrong_subject"),
    ("It is an Adventure that is often associated with the 5th movie you liked.", "wrong_number"),
    ("It is an Adventure that has received widespread acclaim.", "unsupported"),
    ("It is tagged time travel, with a well-known actor in it.", "unsupported"),
    ("A highly successful Adventure with a significant following.", "unsupported"),
    # from a smaller model and a reworded-note prompt, read by hand (all passed then)
    ("Your last sentence contained placeholders or markup.", "junk"),
    ("Your answer should not contain any extra information about this Adventure.", "junk"),
    ("You've already found a similar movie, so you don't need to rewrite the note again.", "junk"),
    ("You asked for people to rate it, but the movie did not rate.", "junk"),
    ("You suggested Back to the Future Part II because it is Adventure.", "junk"),
    ("Back to the Future Part III (1990) is Adventure, like 2 of the movies you liked.", "wrong_subject"),
    ("Back to the Future Part III has received positive ratings from 26 people.", "wrong_subject"),
    ("Back to the Future Part II is a thrilling adventure through time.", "wrong_category"),
    ("It is an enjoyable Adventure, and 26 people liked it.", "unsupported"),
    ("It is a highly regarded Adventure that 120 people rated highly.", "unsupported"),
    ("It continues a strong and well-regarded franchise.", "unsupported"),
    ("They are both Adventure, like 2 of the movies you liked.", "wrong_subject"),
    ("Both movies are Adventure, and 26 people liked them.", "wrong_subject"),
    ("Back to the Future Part II and Back to the Future Part III are both highly rated.", "wrong_subject"),
    ("It's a 2 of the movies you liked, and it is Adventure.", "junk"),
    ("It is an Adventure that has received a high 26 people rating it highly.", "junk"),
    # from the 100-user run of explain@v1, read by hand (all passed then)
    ("It is Adventure, like 2 of the movies you liked, and it's a 4/5 rating, which is high.", "wrong_number"),
    ("It is a highly rated Adventure that has been 26 people rated it highly.", "junk"),
    ("It is an Adventure with the Back to the Future Part III and the SpotLESS Mind.", "junk"),
    # what `make demo` showed for user 1 with explain-why@v2 as the default (both passed then)
    ("It is an Adventure that has received positive ratings from fans of the 1990 film.", "junk"),
    ("It is tagged time travel, which is a tag that many people like.", "junk"),
    # from few-shot lab prompts and explain-why@v2 on users 1 and 414, read by hand (all passed then)
    ("Back to the Future Part II is a time travel adventure that you liked, which you rated 4/5.", "liked_item"),
    ("Back to the Future Part II is an Adventure you liked.", "liked_item"),
    ("It is a Sci-Fi comedy that you rated 4/5, with 26 fans of Back to the Future Part III.", "liked_item"),
    ("Here's an Adventure that you might like: Back to the Future Part III (1990).", "wrong_subject"),
    ("When you watched Back to the Future Part III, you probably enjoyed its Sci-Fi story.", "false_like"),
    ("It is an Adventure that has received positive feedback from 26 people.", "unsupported"),
    ("You found Back to the Future Part III to be a fun ride, rated 4/5.", "wrong_subject"),
    ("In the movie description, Back to the Future Part III is an Adventure as well.", "junk"),
    ("Back to the Future Part II is a great movie, and 26 fans of Back to the Future Part III agree.", "unsupported"),
    # from the paired run 4 (explain-why@v2 and @v3), read by hand (all passed then)
    ("Back to the Future Part II is an Adventure liked by fans of the 1985 and 1990 movies.", "junk"),
    ("Fans of Back to the FutURE Part III liked this too, 26 of them.", "junk"),  # a title's words, cased at random
    # from the 100-user paired run of explain-why@v2 and @v3, read by hand (all passed then)
    ("In 1989, Back to the Future Part II received a 4-star rating from 26 people who liked it.", "wrong_number"),
    ("It is a Sci-Fi comedy that you and your friends really liked.", "unsupported"),
    ("Adventure is indeed a tag for the movie, and it's not listed for Back to the Future Part III.", "junk"),
    ("This movie is Adventure, and is a part of Back to the Future Part III, which is a liked title.", "junk"),
    ("It fits you because you liked it and have not rated it.", "junk"),
    ("Back to the Future Part II, an adventure, is a g that is a comedy.", "junk"),
    ("Adventure is similar to 2 of the movies you liked, and it is tagged time travel.", "wrong_subject"),
    ("You've already enjoyed Back to the Future Part III and enjoyed Back to the Future Part II as well.",
     "liked_item"),
    ("It is known for its Adventure, which aligns with the first fact of the recommendation.", "junk"),
    ("This movie is not the one who rated.", "junk"),
    ("It is a comedy-drama-comedy Adventure that 26 people liked.", "junk"),
    ("It is an Adventure with positive ratings from viewers, including Robert Zemeckis.", "wrong_subject"),
    ("You could have liked Back to the Future Part III if you had watched it, and it is Adventure.", "junk"),
    # passed the checker in a lab run that continued failing answers (2026-12-02, hand read)
    ("It is an Adventure that fits Back to the Future Part III because of its time travel.", "wrong_subject"),
    ("It matches Back to the Future Part III's 1990 rating, and 26 people liked it.", "wrong_subject"),
    ("It is considered one of the first Adventure films, and 26 fans of Back to the Future Part III liked it.",
     "unsupported"),
    ("It has high ratings on popular media channels, and 26 fans of Back to the Future Part III liked it.",
     "unsupported"),
    ("It is an Adventure that can appeal to both young audiences and experienced viewers alike.", "unsupported"),
    ("It is a Comedy, and it is not a highly-rated or positive movie.", "junk"),
    # delivered in the 100-user run of explain-why@v3 with the checker of f22cad2, read by hand (all passed then)
    ("You would likely rate Back to the Future Part II (1989) 4/5, and 26 people who liked it also liked this.",
     "liked_item"),
    ("Back to the Future Part III (1990) 4/5, and 26 people who liked it also liked this movie.", "junk"),
    ("It's a stunning Adventure that explores themes of love, redemption, and the human condition.", "unsupported"),
    ("You may not enjoy the movie because it does not fit you as well as Back to the Future Part III.", "junk"),
    ("You've already found Back to the Future Part III 4/5, so you can't recommend it as a movie.", "junk"),
    ("You would likely consider it a hit, despite its lack of a strong pop culture appeal.", "unsupported"),
    ("It fits you, as you have not yet rated this movie.", "junk"),
    # seen in a lab run under the allowlist of words (2026-12-02)
    ("The Matrix is a Thriller that Back to the Future Part III, a 1990 Adventure, also liked.", "wrong_subject"),
    ("This movie is like 2 of the movies you liked, which they have not.", "junk"),
    ("It is a Comedy, and you liked it as well as Back to the Future Part III.", "liked_item"),
    ("It is an Adventure, and it is one of the movies you liked.", "liked_item"),
    ("The movie 'Back to the Future Part III (1990)' is a movie that fits you because it is Adventure.",
     "wrong_subject"),
    ("You should watch it because Back to the Future Part III (1990) is a good movie that 26 people liked.",
     "wrong_subject"),
    ("It is an Adventure that is not as good as Back to the Future Part III.", "junk"),
    ("It is an Adventure that fits Robert Zemeckis's tag.", "junk"),
    ("It fits you because it is an Adventure, which is not an Adventure movie.", "junk"),
    # delivered in a 100-user run under the allowlist (2026-12-02), read by hand
    ("It is an Adventure that has positive ratings from 1990 and 26 people who liked it.", "junk"),
    ("Back to the Future Part II.", "junk"),
    ("The Back to the Future Part II is an Adventure that 26 people who liked Back to the Future Part III liked.", "junk"),
    ("It fits you because it is Back to the Future Part III, which you liked.", "wrong_subject"),
    ("It is a highly rated and highly rated Adventure, like 2 of the movies you liked.", "junk"),
    ("You've already received a positive rating for Back to the Future Part III, and it's an Adventure.", "junk"),
    ("This movie is Adventure, and is a part of Back to the Future Part III.", "junk"),
    ("It fits you because it is an Adventure and has a 9 out of 10 rating.", "wrong_number"),
    # delivered in the 100-user run 9 (2026-12-02), read by hand: a pair said twice over, the retry's reason echoed
    ("It is an Adventure that is tagged time travel, sci-fi, and time travel, sci-fi, like movies you liked.", "junk"),
    ("It is generic; it is an Adventure, like 2 of the movies you liked.", "unsupported"),
    ("You can say this movie to anyone; it's an Adventure, like 2 of the movies you liked.", "junk"),
    ("You could be said to anyone; it is an Adventure that you like.", "junk"),
    # explain-why@v6's given openings, finished badly in a lab run (2026-12-02): a leading clause alone,
    # percentages, worth denied, movies that like
    ("Since you rated Back to the Future Part III 4/5.", "junk"),
    ("Fans of Back to the Future Part III, which you rated 4/5.", "junk"),
    ("Because you liked Back to the Future Part III, it is like 2% of the movies you liked.", "wrong_number"),
    ("Since you rated Back to the Future Part III 4/5, it's not very good, but it fits you as an Adventure.", "junk"),
    ("26 people who liked Back to the Future Part III, and 2 of the movies you liked also liked this movie.", "junk"),
    ("If you liked Back to the Future Part III, it's likely that you had a very high rating.", "junk"),
    ("As a fan of Back to the Future Part III, you would likely enjoy this Adventure that is tagged with.", "junk"),
    ("For someone who rated Back to the Future Part III 4/5, this movie is an Adventure that fits them well.", "junk"),
    ("Given your 5/5 for Back to the Future Part III, this movie is an Adventure, like 2 of the movies you liked.",
     "wrong_number"),  # the person rated it 4/5
    ("For someone who rated Back to the Future Part III 4/5, this is an Adventure, like 2 of the movies they liked.",
     "junk"),
    # counts given the wrong unit: 26 people liked both, 2 of the person's liked movies are Adventure
    ("It has positive ratings from 2 people who liked Back to the Future Part III.", "wrong_number"),
    ("It is an Adventure, like 26 of the movies you liked.", "wrong_number"),
    # the model speaking as itself, or of the task
    ("I didn't understand the movie recommendation.", "junk"),
    ("This is a friendly sentence to the viewer.", "unsupported"),
    # echoes and junk
    ("Everything given: no plot, actors or awards.", "echo"),
    ("It is Adventure, like many of the movies. It is Adventure, like many of the movies.", "junk"),
    ("Fans of [liked movie] loved this one too.", "junk"),
    ("It is a great movie that you will surely enjoy because it is really", "junk"),
])
def test_false_explanations_are_caught(text, kind):
    assert kind in kinds(text), (text, kinds(text))


@pytest.mark.parametrize("text,generic", [
    # true, and could be said to anyone: 227 of run 8's 494 delivered model texts
    ("Back to the Future Part II is an Adventure that viewers enjoyed.", True),
    ("Back to the Future Part II is a Sci-Fi comedy that fits you because it is an Adventure.", True),
    ("It is an Adventure that has received positive ratings from 120 people.", True),  # its fans: not this person's
    ("It is an Adventure that has received positive ratings from 26 people who liked it.", True),  # liked what?
    # ... and what ties it to this person: a liked title, their taste (and counts of theirs), a shared tag
    ("Back to the Future Part II is an Adventure that fans of Back to the Future Part III liked.", False),
    ("Back to the Future Part II is an Adventure, like 2 of the movies you liked.", False),
    ("It is an Adventure that 26 people who liked the film you rated 4/5 also liked.", False),
    ("It is a Sci-Fi Adventure, the kind of movie you enjoy.", False),
])
def test_an_explanation_must_name_something_about_the_person(text, generic):
    assert ("generic" in kinds(text)) is generic, kinds(text)
    assert "generic" not in kinds(text, kind="hook")
    shared_tag = context()
    shared_tag.evidence.shared_tags.append("time travel")
    assert kinds("Back to the Future Part II is a time travel Adventure.", shared_tag) == set()


@pytest.mark.parametrize("text,says", [
    ("so this movie fits you well.", False),
    ("you would likely enjoy Back to the Future Part II.", False),  # the item's title is no fact about it
    ("this movie is an Adventure.", True),
    ("it is a comedy that fits you.", True),  # a genre of the item's, by a synonym
    ("this movie is a Horror film.", False),  # ... not a genre it lacks
    ("this movie is an adventure-comedy.", True),  # ... and one in a compound
    ("26 of its fans liked this.", True),
])
def test_what_the_model_adds_to_a_given_opening_names_a_fact_of_the_movie(text, says):
    from agent.pipeline.claims import names_item_fact
    assert names_item_fact(text, context().evidence, VOCAB) is says, text


@pytest.mark.parametrize("text,caught", [
    # a liked title named by the part after its colon, described as the movie
    ("Infinity War - Part I is an Action movie that 26 people liked.", True),
    ("Avengers is a Sci-Fi movie that 26 people liked.", True),
    # ... and true sentences about the item itself, with the liked title later on
    ("Captain America: Civil War is Action, and 26 fans of Avengers: Infinity War - Part I liked it.", False),
    ("Civil War is an Action movie, and 26 fans of Avengers: Infinity War - Part I liked it.", False),
])
def test_a_liked_title_described_as_the_movie_by_part_of_its_name(text, caught):
    assert ("wrong_subject" in kinds(text, context("6", because=("5",)))) is caught, text


@pytest.mark.parametrize("text,caught", [
    # the item's genre said of its linked title (run 4: "Shrek … fits Monty Python and the Holy Grail, which is a
    # children's film")
    ("It is a Comedy that fits The Godfather, which is a children's film.", True),
    ("It is a Musical for fans of The Godfather (1972), which was a Comedy too.", True),
    ("It is a Comedy for fans of The Godfather, which is a Crime drama.", False),
])
def test_a_genre_said_of_the_linked_title_is_its_own(text, caught):
    assert ("wrong_category" in kinds(text, context("7", because=("4",)))) is caught, text


def test_a_rating_after_a_liked_title_ending_in_i_is_not_given_to_the_item():
    text = "You rated Avengers: Infinity War - Part I 4/5, and 26 of its fans liked this."
    assert "liked_item" not in kinds(text, context("6", because=("5",)))
    assert "liked_item" in kinds("You would rate Captain America: Civil War 4/5.", context("6", because=("5",)))


def test_reasons_come_in_one_order_in_every_run():
    """Tags and genres were walked in set order, which changes with each process's hash seed: so
    did the order of reasons, and with it the retry's prompt."""
    text = "It is a Disney Musical with a twist ending and dark comedy, like 2 of the movies you liked."
    tags = [v.detail.split("'")[1] for v in check(text, context("4"), VOCAB) if v.kind == "wrong_tag"]
    assert tags == ["dark comedy", "disney", "twist ending"]
    genres = list(dict.fromkeys(VOCAB.genre_forms.values()))
    assert genres == sorted(genres)


def test_a_title_that_holds_a_reception_word_is_no_claim():
    ctx = context("12", because=("2",))
    assert kinds("Best in Show is a Comedy, and 26 fans of Back to the Future Part III liked it.", ctx) == set()
    assert "unsupported" in kinds("Best in Show is the best Comedy of 2000.", ctx)


def test_the_item_named_in_full_as_rated_is_caught_though_its_title_holds_and():
    """"and" ends a claim's object, so "You rated Harry Potter and the Half-Blood Prince 5/5"
    (SmolLM2, under that very movie) once read as a claim about "Harry Potter", a liked series."""
    ctx = context("11", because=("4",))
    text = "You rated Dr. Strangelove or: How I Learned to Stop Worrying and Love the Bomb 5/5, and 26 people liked it."
    assert "liked_item" in kinds(text, ctx)
    assert kinds("You rated The Godfather 4/5, and 26 people who liked it also liked this.", ctx) == set()


def test_words_banned_while_decoding_are_words_the_checker_rejects():
    from agent.pipeline.claims import UNSUPPORTED_WORDS

    for word in UNSUPPORTED_WORDS:
        assert "unsupported" in kinds(f"It has {word} written all over it, say 120 people."), word


def test_a_rating_stays_the_persons_own_past_a_long_title():
    ctx = context("1", because=("11",))
    ctx.liked_titles["dr. strangelove or: how i learned to stop worrying and love the bomb"] = 4.0  # behind the item
    text = ("You gave Dr. Strangelove or: How I Learned to Stop Worrying and Love the Bomb (1964) 4/5; "
            "26 of its fans rated this highly too.")
    assert kinds(text, ctx) == set()
    assert kinds("Back to the Future Part II has a 4/5 rating from 26 fans of Dr. Strangelove.", ctx) == {"wrong_number"}


def test_shortened_title_of_a_liked_item_is_a_true_like():
    # "Back to the Future" names Part III, which the person rated 4: a true claim
    assert kinds("You liked Back to the Future, and this one is next.") == set()


@pytest.mark.parametrize("text", [
    # true of the movie perhaps, but no fact holds it: rejected by default, with no rule of their own
    "Fans of Back to the Future Part III loved this sequel too.",
    "You rated Back to the Future Part III 4/5; the time travel story goes on here.",
    "You rated Back to the Future Part III 4/5 and liked its pace, so try this.",
    "It is a popular Adventure: 26 people who liked Back to the Future Part III also liked it.",
    "26 people who liked Back to the Future Part III also liked this Spielberg Adventure.",
    "It is an Adventure that has been watched by 26 people who liked Back to the Future Part III.",
])
def test_words_no_fact_holds_are_unsupported(text):
    assert "unsupported" in kinds(text), text


def test_the_chat_request_it_satisfies_may_be_restated():
    ctx = context()
    ctx.evidence.constraint = "without Horror, from the 1980s"
    assert kinds("It fits your request: without Horror, from the 1980s.", ctx) == set()
    assert "wrong_category" in kinds("A Mystery classic for your night.", ctx)


def test_a_title_is_known_by_its_name_before_an_alternate_title():
    raiders = Item(item_id="13", title="Raiders of the Lost Ark (Indiana Jones and the Raiders of the Lost Ark) (1981)",
                   categories=["Action", "Adventure"])
    ev = Evidence(item_id="1", title=BY_ID["1"].title, year=1989, categories=BY_ID["1"].categories, fans=120,
                  because=[LikedLink(item_id="13", title=raiders.title, rating=4.5, signal="co-liked", people=85)])
    ctx = claim_contexts([ev], LIKED + [HistoryEvent(item_id="13", rating=4.5)], BY_ID | {"13": raiders})[0]
    assert "wrong_subject" in kinds("It is an Adventure that fits Raiders of the Lost Ark.", ctx)
    assert kinds("It is an Adventure that fits Raiders of the Lost Ark fans: 85 of them liked it.", ctx) == set()


def test_a_short_liked_title_outside_the_facts_is_caught():
    # the title index skips one-word titles (too often common words), so "close to Alien" went unchecked
    # where the person liked Alien but no fact links it to this movie (run 9 named Alien where one did)
    alien = Item(item_id="20", title="Alien (1979)", categories=["Horror", "Sci-Fi"])
    ctx = claim_contexts([context().evidence], LIKED + [HistoryEvent(item_id="20", rating=4.0)],
                         BY_ID | {"20": alien})[0]
    assert "unknown_title" in kinds("It is an Adventure, like 2 of the movies you liked, and close to Alien.", ctx)
    assert "unknown_title" not in kinds("Alien fans: it is an Adventure, like 2 of the movies you liked.", ctx)
    assert "unknown_title" not in kinds("It is an Adventure with an alien, like 2 of the movies you liked.", ctx)
    # a liked "It" or "More" at a sentence's start is a word (run 9's templates: "… 4.5/5). It is Adventure")
    it = Item(item_id="21", title="It (2017)", categories=["Horror"])
    ctx = claim_contexts([context().evidence], LIKED + [HistoryEvent(item_id="21", rating=4.0)], BY_ID | {"21": it})[0]
    assert kinds("26 fans of Back to the Future Part III liked this. It is Adventure, like 2 of the movies you liked.",
                 ctx) == set()


def test_hook_rules():
    assert "title_as_hook" in kinds("Back to the Future Part II", kind="hook")
    assert "unknown_title" in kinds("Like The Lion King, but wilder", kind="hook")
    assert kinds("More time travel for you", kind="hook") == set()
    assert kinds("More time travel mischief", kind="hook") == {"unsupported"}  # no fact says mischief


def test_repeated_openings_across_a_list_are_caught():
    ctxs = [context(i) for i in ("1", "3", "4", "7")]
    texts = ["Since you liked Back to the Future Part III (1990), this Adventure pick fits.",
             "Since you liked The Lion King, this Animation pick fits.",
             "Since you liked The Godfather, this Crime pick fits.",
             "Fans of Part III rated this highly."]
    openings = [skeleton(t, c, VOCAB) for t, c in zip(texts, ctxs)]
    assert openings[0] == openings[1] == openings[2] != openings[3]
    assert check_list(openings) == [2]


def test_openings_differing_only_in_the_genre_words_are_one_skeleton():
    # 27 of the 100-user run 8's lists held three or more "<T> is a <genre> that …": the genre slot took
    # "crime-drama", "romantic drama" and "drama" for different openings, so the boilerplate went uncounted
    ctxs = [context(i) for i in ("4", "9", "1", "3")]
    texts = ["The Godfather is a crime-drama that has received positive ratings from viewers who like it.",
             "Fight Club is a crime thriller that has received high ratings from viewers.",
             "Back to the Future Part II is an Adventure and Comedy that fits you.",
             "The Lion King is a Musical movie that fits you."]
    openings = [skeleton(t, c, VOCAB) for t, c in zip(texts, ctxs)]
    assert openings[:3] == ["is a g that"] * 3 and openings[3] == "is a g movie"
    assert check_list(openings) == [2]
    assert skeleton("It is Action, like 76 of the movies you liked.", ctxs[0], VOCAB) == "it is g like"

def test_evidence_from_data():
    rows = [(u, i, 5.0) for u in range(6) for i in ("2", "1")] + [(9, "3", 5.0), (9, "2", 5.0)]
    collab = CooccurrenceIndex(rows)
    liked = [HistoryEvent(item_id="2", rating=4.5, timestamp=10)]
    [ev] = build_evidence([BY_ID["1"]], liked, BY_ID, collab, vectors={})
    assert ev.year == 1989 and ev.fans == 6
    assert [(b.item_id, b.signal, b.people, b.rating) for b in ev.because] == [("2", "co-liked", 6, 4.5)]
    assert [(c.category, c.liked) for c in ev.shared_categories] == [("Adventure", 1), ("Comedy", 1), ("Sci-Fi", 1)]
    assert ev.shared_tags == ["time travel"]
    [lion] = build_evidence([BY_ID["3"]], liked, BY_ID, collab, vectors={})
    assert lion.because == []  # one shared fan is below the support threshold


def test_evidence_counts_the_liked_titles_with_both_of_the_first_two_shared_tags():
    memento = Item(item_id="m", title="Memento (2000)", categories=["Mystery"], tags=["twist ending", "time travel"])
    catalog = {**BY_ID, "m": memento}
    liked = [HistoryEvent(item_id=i, rating=5.0) for i in ("1", "2", "m")]  # time travel thrice, twist ending once
    [ev] = build_evidence([BY_ID["8"]], liked, catalog, CooccurrenceIndex([]), vectors={})
    assert ev.shared_tags == ["twist ending", "time travel"] and ev.shared_tag_counts == [1, 3]
    assert ev.shared_tag_pair == 1 and 1 in ev.numbers()
    [alone] = build_evidence([BY_ID["8"]], liked[:2], catalog, CooccurrenceIndex([]), vectors={})
    assert alone.shared_tags == ["time travel"] and alone.shared_tag_pair == 0



def test_a_shared_tag_that_repeats_another_s_words_is_left_out():
    # read blind under v24: "It is tagged Quentin Tarantino and Tarantino"
    from agent.pipeline.evidence import distinct_tags

    assert distinct_tags(["Quentin Tarantino", "Tarantino", "dark comedy", "black comedy", "comedy"]) == \
        ["Quentin Tarantino", "dark comedy", "black comedy"]


@pytest.mark.parametrize("series", [None, "sequel", "earlier"])  # a part of its series the person rated
@pytest.mark.parametrize("tag_count", [None, 1, 3])  # a shared tag and how many liked titles carry it
@pytest.mark.parametrize("rating", [4.0, None])  # None: a like without a rating ("you liked it")
@pytest.mark.parametrize("position", range(5))
@pytest.mark.parametrize("signal", ["co-liked", "similar", None])
def test_every_template_form_passes_the_checker(position, signal, rating, tag_count, series):
    from agent.pipeline.claims.open import check_open
    from agent.pipeline.explain import template_texts

    ctx = context(because=("2",) if signal else ())
    if signal == "similar":
        ctx.evidence.because[0].signal = "similar"
    if signal:
        ctx.evidence.because[0].rating = rating
    if tag_count:
        ctx.evidence.shared_tags, ctx.evidence.shared_tag_counts = ["time travel"], [tag_count]
    if series:
        ctx.evidence.series = [SeriesLink(item_id="2", title=BY_ID["2"].title, rating=rating, relation=series)]
    ctx.evidence.constraint = "without Horror"
    hook, text = template_texts(ctx.evidence, position)
    said = str(tag_count) if tag_count != 1 else r"\bone (?:of the movies you liked|is)\b"  # "like one of the movies you liked"
    assert not tag_count or re.search(said, text, re.I), text  # the tag's form is the one under test
    assert not series or ("sequel" in text) == (series == "sequel"), text
    assert not series or hook.startswith("The sequel to" if series == "sequel" else "Before"), hook  # not "Fans of"
    for checker in (check, check_open):  # the template is the fallback of both modes
        assert checker(text, ctx, VOCAB) == [], text
        assert checker(hook, ctx, VOCAB, kind="hook") == [], hook


@pytest.mark.parametrize("position", range(5))
def test_a_genre_one_liked_movie_shares_is_said_in_the_singular_and_passes(position):
    from agent.pipeline.claims.open import check_open
    from agent.pipeline.explain import template_texts

    ctx = context(because=("2",))
    ctx.evidence.shared_categories[0].liked = 1
    text = template_texts(ctx.evidence, position)[1]
    assert re.search(r"\bone (?:of the movies you liked|is)\b", text, re.IGNORECASE) and " 1 " not in text, text  # not "1 of …"
    for checker in (check, check_open):
        assert checker(text, ctx, VOCAB) == [], text


def test_open_mode_reads_a_rating_beside_a_title_and_the_people_among_its_fans():
    # the templates' forms, which the open checker once called false: "(you rated it 4/5)" after a
    # linked title is that title's rating, and "Among people who liked X, 26 …" counts X's fans
    from agent.pipeline.claims.open import check_open

    ctx = context()
    true = "Among people who liked Back to the Future Part III (1990) (you rated it 4/5), 26 also liked this one."
    assert check_open(true, ctx, VOCAB) == []
    assert {v.kind for v in check_open(true.replace("26", "27"), ctx, VOCAB)} == {"wrong_number"}
    assert {v.kind for v in check_open(true.replace("Back to the Future Part III (1990) (you rated it 4/5)",
                                                    "The Godfather (you rated it 5/5)"),
                                       ctx, VOCAB)} == {"wrong_link"}
    said_of_item = "Back to the Future Part II (you rated it 4/5) shares 26 fans with Back to the Future Part III."
    assert "liked_item" in {v.kind for v in check_open(said_of_item, ctx, VOCAB)}


def test_open_mode_gives_a_rating_to_the_title_beside_it():
    # blind3: "You rated The Departed 5/5 and Inception 4.5/5" swapped the two ratings, and each is one of the
    # sentence's; "Your 5/5s for A and B" gives both 5/5; "Part III" alone is the part of the item's series
    from agent.pipeline.claims.open import check_open

    ctx = context()  # Part III 4, The Godfather 5, Twelve Monkeys 4.5
    link = "26 people who liked Back to the Future Part III also liked this."
    for true in ("You rated The Godfather 5/5 and Twelve Monkeys 4.5/5. " + link,
                 "The Godfather and Twelve Monkeys, rated 5/5 and 4.5/5, say a lot. " + link,
                 "Your 5/5 for The Godfather says a lot. " + link,
                 "Part III (4/5) shares 26 fans with this."):
        assert check_open(true, ctx, VOCAB) == [], true
    for false in ("You rated The Godfather 4.5/5 and Twelve Monkeys 5/5. " + link,
                  "Your 5/5s for The Godfather and Twelve Monkeys say a lot. " + link,
                  "Twelve Monkeys, which you gave 5/5, says a lot. " + link,
                  "Part III (5/5) shares 26 fans with this."):
        assert {v.kind for v in check_open(false, ctx, VOCAB)} == {"wrong_number"}, false


def test_open_mode_gives_it_rated_to_the_title_named_before():
    # blind4's true "If Forrest Gump worked for you (you gave it 4/5), this …" was read as a rating of the item
    from agent.pipeline.claims.open import check_open

    ctx = context()  # Part III 4, The Godfather 5, Twelve Monkeys 4.5
    link = " 26 people who liked Back to the Future Part III also liked this."
    for true in ("If The Godfather hooked you (you gave it 5/5), this 1989 adventure is a change of pace." + link,
                 "Twelve Monkeys stayed with you (you rated it 4.5/5), and this is time travel too." + link):
        assert check_open(true, ctx, VOCAB) == [], true
    said = check_open("If The Godfather hooked you (you gave it 4/5), this 1989 adventure is a change." + link, ctx,
                      VOCAB)
    assert [v.kind for v in said] == ["wrong_number"]
    for of_item in ("Twelve Monkeys stayed with you, and this one you rated it 4.5/5." + link,
                    "You'll like this 1989 adventure: you gave it 5/5." + link):
        assert "liked_item" in {v.kind for v in check_open(of_item, ctx, VOCAB)}, of_item


@pytest.mark.parametrize("signal", ["co-liked", "similar", None])
def test_template_hooks_vary_down_a_list(signal):
    from agent.pipeline.explain import template_hook

    ctx = context(because=("2",) if signal else ())
    if signal == "similar":
        ctx.evidence.because[0].signal = "similar"
    hooks = [template_hook(ctx.evidence, position) for position in range(10)]
    openings = [" ".join(h.split()[:2]) for h in hooks]
    assert max(openings.count(o) for o in openings) <= 4, hooks  # no form more than every third item
    assert all(check(h, ctx, VOCAB, kind="hook") == [] for h in hooks), hooks


def test_a_genre_word_inside_the_movies_own_tag_is_the_tag():
    ctx = context("9", because=("4",))  # Fight Club: tagged "dark comedy", not a Comedy
    tagged = "Since you rated The Godfather 4/5, this movie is Action, like 2 of the movies you liked, and it is tagged {}."
    assert kinds(tagged.format("dark comedy"), ctx) == set()
    assert kinds("Since you rated The Godfather 4/5, this movie is a comedy, like 2 of the movies you liked.", ctx) == {
        "wrong_category"}
    assert "wrong_category" in kinds(tagged.format("romantic comedy"), ctx)  # not its tag


def test_a_shared_tag_past_the_items_first_tags_is_in_the_facts():
    it = BY_ID["10"]  # The Usual Suspects: its fourth tag is "disney"; the evidence keeps its first two
    ev = Evidence(item_id=it.item_id, title=it.title, year=1995, categories=it.categories, tags=it.tags[:2],
                  because=[LikedLink(item_id="4", title=BY_ID["4"].title, rating=5.0, signal="co-liked", people=26)],
                  shared_tags=["disney"], shared_categories=[CategoryShare(category="Crime", liked=2)])
    text = "Since you rated The Godfather 5/5, this movie is Crime, and it is tagged disney, like movies you liked."
    assert kinds(text, claim_contexts([ev], LIKED, BY_ID)[0]) == set()
    no_share = ev.model_copy(update={"shared_tags": []})
    assert "wrong_tag" in kinds(text, claim_contexts([no_share], LIKED, BY_ID)[0])


def test_a_catalogs_genres_are_known_by_their_synonyms_whatever_their_case():
    from agent.pipeline.claims import Vocabulary
    from agent.types import Item

    books = [Item(item_id="1", title="Salt Roads", categories=["travel"]), Item(item_id="2", title="Ash", categories=["poetry"])]
    forms = Vocabulary.from_items(books).genre_forms
    assert forms["poems"] == forms["verse"] == "poetry" and forms["travelogue"] == "travel"
    assert "poems" not in Vocabulary.from_items([Item(item_id="1", title="Heat", categories=["Action"])]).genre_forms


def test_one_genres_count_given_to_several_is_a_wrong_number():
    from agent.pipeline.claims.open import check_open

    ctx = context()  # Adventure, Comedy, Sci-Fi; 2 of the person's liked movies are Adventure
    for checker in (check, check_open):
        said = lambda text: {v.kind for v in checker(text, ctx, VOCAB)}  # noqa: E731
        assert "wrong_number" in said("It is an Adventure, Comedy and Sci-Fi movie, like 2 of the movies you liked.")
        assert "wrong_number" in said("It is a comedy and adventure, like 2 of the movies you liked.")
        assert said("It is Adventure, like 2 of the movies you liked, and a Comedy too.") == set()
        assert said("It is a Comedy and Sci-Fi; 2 of the movies you liked are Adventure, and so is this.") == set()


def test_a_sentence_ending_in_a_genre_does_not_run_into_the_next_ones_first_word():
    from agent.pipeline.claims.open import check_open

    ctx = context()
    for checker in (check, check_open):
        said = {v.detail for v in checker("26 people who liked Back to the Future Part III also liked this. "
                                          "It is Adventure. It fits you.", ctx, VOCAB)}
        assert not any("'It'" in d for d in said), said
        assert "unsupported" in {v.kind for v in checker("It is Adventure. Steven Spielberg made it.", ctx, VOCAB)}


@pytest.mark.parametrize("text, kind", [
    # the bundled model's passing answers that did not read (users 414, 68, 599 under explain-why@v18's draft)
    ("26 people who liked Back to the Future Part III also liked this. It was a 2 movie, which you rated 4/5.", "junk"),
    ("26 people who liked Back to the Future Part III also liked this. It has 2 of the movies you liked.", "junk"),
    ("It fits you because you like 2 of the movies you liked, which is Adventure.", "junk"),
    ("26 people who liked Back to the Future Part III also liked this. It's a comedy, adventure, and Adventure movie.",
     "junk"),
    ("26 people who liked Back to the Future Part III also liked this. It is an adventure, comedy.", "junk"),
    # ... and under explain-why@v22 (users 1 and 68): a genre twice with its article, a series relation garbled or twice
    ("26 people who liked Back to the Future Part III also liked this. It's a comedy, adventure, and an adventure.",
     "junk"),
    ("Since you rated Back to the Future Part III 4/5, this earlier part was an earlier series of Back to the Future "
     "Part III.", "junk"),
    ("Since you rated Back to the Future Part III 4/5, this sequel is a sequel to Back to the Future Part III.", "junk"),
    ("It is an Adventure with a high rating, like 2 of the movies you liked.", "unsupported"),
    ("It has been well-received by 26 people who liked Back to the Future Part III.", "unsupported"),
    ("26 people who liked Back to the Future Part III also liked this. It's a fun Adventure loved by many people.",
     "unsupported"),
])
def test_counts_without_sense_a_genre_twice_and_reception_are_caught(text, kind):
    assert kind in kinds(text), text


def test_a_rating_is_of_a_title_named_right_before_it():
    said = "26 fans of Back to the Future Part III (you rated it 4/5) liked this too. "
    assert "liked_item" in kinds(said + "It was also a comedy, which you rated 4/5.")
    assert kinds(said + "It shares 26 fans with Back to the Future Part III, which you rated 4/5.") == set()
    ctx = context(item_id="5", because=("2", "13"))  # a title ending in a word the rule reads ("Air Force One")
    assert "liked_item" not in kinds("It shares 26 fans with Air Force One, which you rated 4/5.", ctx)


def test_a_year_before_a_noun_still_reads():
    assert "junk" not in kinds("It is a 1989 Adventure, like 2 of the movies you liked.")


def test_two_liked_titles_each_with_its_rating_are_no_repetition():
    ctx = context(item_id="5", because=("2", "4"))
    text = ("Of the people who liked Back to the Future Part III (you rated it 4/5), 26 also liked this. "
            "It shares 26 fans with The Godfather (you rated it 4/5).")
    assert "junk" not in kinds(text, ctx), check(text, ctx, VOCAB)
    assert "junk" in kinds("It is Action, like 2 of the movies you liked, like 2 of the movies you liked.", ctx)
    assert "junk" in kinds("It shares 26 fans with The Godfather, who you rated 4/5).", ctx)


@pytest.mark.parametrize("text, caught", [
    ("26 people who liked Back to the Future Part III also liked this. It is an Adventure that has been highly rated.", True),
    ("It is an Adventure that has received positive ratings, like 2 of the movies you liked.", True),
    ("Back to the Future Part II is an Adventure that has received positive ratings from viewers.", True),
    ("You gave Back to the Future Part III 4/5; 26 of its fans rated this highly too.", False),
    ("Fans of Back to the Future Part III keep rating this highly: 26 of them so far.", False),
    ("It is an Adventure, a genre you rate highly.", False),  # the person's ratings, their taste
])
def test_a_rating_said_of_the_movie_needs_a_count_of_people(text, caught):
    assert ("unsupported" in kinds(text)) == caught, check(text, context(), VOCAB)


def test_open_mode_reads_lets_at_a_sentence_start_as_no_name():
    from agent.pipeline.claims.open import check_open

    ctx = context()
    link = "26 people who liked Back to the Future Part III also liked this."
    assert check_open(f"Let's keep the time travel going: {link}", ctx, VOCAB) == []
    assert [v.kind for v in check_open(f"Let's keep Marty McFly going: {link}", ctx, VOCAB)] == ["unsupported"]


def test_a_link_with_an_alternate_title_is_named_by_its_main_title_in_a_template():
    # 100 users under v22/v23: the template's "It is liked by 10 people who also liked Rashomon (you rated it 4/5)"
    # read as a rating of the item, "You gave Life Is Beautiful 4/5" as calling the item 'beautiful'
    catalog = [Item(item_id="1", title="Seven Samurai (Shichinin no samurai) (1954)", categories=["Action", "Drama"],
                    tags=["samurai"]),
               Item(item_id="2", title="Rashomon (Rashômon) (1950)", categories=["Crime", "Drama"], tags=["samurai"]),
               Item(item_id="3", title="Life Is Beautiful (La Vita è bella) (1997)", categories=["Comedy", "Drama"]),
               Item(item_id="4", title="Amelie (2001)", categories=["Comedy"], tags=["beautiful"]),
               Item(item_id="5", title="Big Fish (2003)", categories=["Drama"], tags=["beautiful"])]
    vocab, by_id = Vocabulary.from_items(catalog, min_tag_items=2), {it.item_id: it for it in catalog}
    liked = [HistoryEvent(item_id="2", rating=4.0), HistoryEvent(item_id="3", rating=4.0)]

    def ctx(item_id, link):
        it = by_id[item_id]
        ev = Evidence(item_id=item_id, title=it.title, categories=it.categories, tags=it.tags,
                      because=[LikedLink(item_id=link, title=by_id[link].title, rating=4.0, signal="co-liked",
                                         people=10)])
        return claim_contexts([ev], liked, by_id)[0]

    samurai, amelie = ctx("1", "2"), ctx("4", "3")
    assert check("It is liked by 10 people who also liked Rashomon (you rated it 4/5).", samurai, vocab) == []
    assert "liked_item" in {v.kind for v in check("It is liked by 10 people, and you rated it 4/5.", samurai, vocab)}
    assert check("You gave Life Is Beautiful 4/5; 10 of its fans rated this highly too.", amelie, vocab) == []
    assert "wrong_tag" in {v.kind for v in check("You gave Life Is Beautiful 4/5. It is beautiful, like a drama.",
                                                ctx("1", "3"), vocab)}


def test_both_checkers_read_two_tags_with_the_count_of_liked_titles_that_have_both():
    # explain-why@v24's fact: "tagged X and Y, like N of the movies you liked", N those with both
    from agent.pipeline.claims.open import check_open

    ctx = context("8", because=())
    ev = ctx.evidence
    ev.shared_categories[0].liked = 7  # no other fact counts 2
    ev.shared_tags, ev.shared_tag_counts, ev.shared_tag_pair = ["twist ending", "time travel"], [3, 5], 2
    for text in ("It is tagged twist ending and time travel, like 2 of the movies you liked.",
                 "It is tagged twist ending (like 3 of the movies you liked) and time travel (like 5)."):
        for checker in (check, check_open):
            assert checker(text, ctx, VOCAB) == [], (checker.__name__, text)
    wrong = "It is tagged twist ending and time travel, like 4 of the movies you liked."
    for checker in (check, check_open):
        assert {v.kind for v in checker(wrong, ctx, VOCAB)} & {"wrong_number", "wrong_link"}, checker.__name__


def test_both_checkers_read_two_genres_with_the_count_of_liked_titles_that_have_both():
    # explain-why@v25's fact: "both a crime movie and a drama, like N of the movies you liked", N those with both
    from agent.pipeline.claims.open import check_open
    from agent.pipeline.explain import CATEGORY_PAIR_FORMS, template_texts
    from agent.types import CategoryPair

    ctx = context("9", because=())
    ev = ctx.evidence
    ev.shared_categories = [CategoryShare(category="Drama", liked=9), CategoryShare(category="Crime", liked=7)]
    ev.shared_category_pair = CategoryPair(categories=["Crime", "Drama"], liked=4)
    for text in ("It is both a crime movie and a drama, like 4 of the movies you liked.",
                 "Of the movies you liked, 4 are both crime movies and dramas; this one is too."):
        for checker in (check, check_open):
            assert checker(text, ctx, VOCAB) == [], (checker.__name__, text)
    ev.genre_fact = "pair"
    for position in range(len(CATEGORY_PAIR_FORMS)):  # the template's forms of it
        text = template_texts(ev, position)[1]
        assert "both a crime movie and a drama" in text or "both crime movies and dramas" in text
        for checker in (check, check_open):
            assert checker(text, ctx, VOCAB) == [], (checker.__name__, text)
    for wrong in ("It is both a crime movie and a drama, like 9 of the movies you liked.",  # one genre's count
                  "It is both a crime movie and a thriller, like 4 of the movies you liked."):  # not the pair
        for checker in (check, check_open):
            assert {v.kind for v in checker(wrong, ctx, VOCAB)} & {"wrong_number", "wrong_link"}, (checker.__name__, wrong)


def test_evidence_gives_the_genre_pair_to_two_items_of_a_list_then_the_one_genre():
    # v24 read "It is a drama, like 94 of the movies you liked" on five items of one list
    heat = Item(item_id="y", title="Heat (1995)", categories=["Crime", "Thriller"])
    liked = [HistoryEvent(item_id=i, rating=5.0) for i in ("9", "10", "13", "y")]  # Crime with Thriller in 3
    items = [Item(item_id=f"x{n}", title=f"Thriller {n} (2001)", categories=["Action", "Crime", "Thriller"])
             for n in range(5)]
    catalog = {**BY_ID, "y": heat, **{it.item_id: it for it in items}}
    evidence = build_evidence(items, liked, catalog, CooccurrenceIndex([]), vectors={})
    pair = evidence[0].shared_category_pair
    assert pair is not None and pair.liked == 3 and pair.categories == ["Crime", "Thriller"]
    assert [ev.genre_fact for ev in evidence] == ["pair", "pair", "genre", "genre", "pair"]
    assert 3 in evidence[0].numbers()
    # a pair true of two liked titles read as no pattern (readers of v25 against v24): the one genre instead
    [lone] = build_evidence(items[:1], liked[1:], catalog, CooccurrenceIndex([]), vectors={})
    assert lone.shared_category_pair is None and lone.genre_fact == "genre"


def test_both_checkers_read_explain_why_v26_s_rating_first_opening():
    from agent.pipeline.claims.open import check_open

    text = ("You gave Back to the Future Part III 4/5, and 26 of its fans also liked this. "
            "It is an adventure movie, like 2 of the movies you liked.")
    for checker in (check, check_open):
        assert checker(text, context("1"), VOCAB) == [], checker.__name__
        assert {v.kind for v in checker(text.replace("26", "27"), context("1"), VOCAB)} & {"wrong_number", "wrong_link"}


def test_the_constrained_checker_reads_each_tag_of_a_tagged_list_as_a_tag():
    # "tagged sci-fi (like 2 …) and suspense (like one)": the second tag was read as the genre Thriller (v25 run)
    ctx = context("1", because=())
    ev = ctx.evidence
    ev.tags = ["time travel", "suspense"]
    ev.shared_tags, ev.shared_tag_counts = ["time travel", "suspense"], [2, 1]
    ctx = claim_contexts([ev], LIKED, BY_ID)[0]
    text = "It is tagged time travel (like 2 of the movies you liked) and suspense (like one)."
    assert check(text, ctx, VOCAB) == []
    assert "wrong_category" in kinds("It is tagged time travel (like 2 of the movies you liked), and it is suspense.", ctx)
    assert "wrong_number" in kinds(text.replace("like 2", "like 5"), ctx)  # the counts beside the tags are still read


def test_evidence_gives_no_tag_that_is_a_judgement():
    # "tagged classic", "tagged great soundtrack": the checkers refuse the words, so the model's copy failed
    liked_item = Item(item_id="g", title="Grease (1978)", categories=["Comedy"], tags=["classic", "great soundtrack", "musical"])
    item = Item(item_id="h", title="Hairspray (1988)", categories=["Comedy"], tags=["classic", "great soundtrack", "musical"])
    catalog = {"g": liked_item, "h": item}
    [ev] = build_evidence([item], [HistoryEvent(item_id="g", rating=5.0)], catalog, CooccurrenceIndex([]), vectors={})
    assert ev.shared_tags == ["musical"]


def test_the_template_says_a_genre_of_one_liked_movie_in_several_forms():
    # one form only gave a list two alike template endings beside the model's third (100-user run, user 311)
    from agent.pipeline.explain import CATEGORY_ONE_FORMS, template_texts

    ctx = context("1", because=())
    ctx.evidence.shared_categories = [CategoryShare(category="Adventure", liked=1)]
    texts = {template_texts(ctx.evidence, n)[1] for n in range(len(CATEGORY_ONE_FORMS))}
    assert len(texts) == len(CATEGORY_ONE_FORMS)  # each passes both checkers: the test above


def test_a_liked_title_whose_first_word_joins_a_clause_is_still_the_object():
    # "You gave In the Name of the Father 4/5, and …" was read as "you gave in" (objectless: the movie itself)
    name = Item(item_id="n", title="In the Name of the Father (1993)", categories=["Drama"])
    catalog = {**BY_ID, "n": name}
    ev = Evidence(item_id="4", title=BY_ID["4"].title, categories=BY_ID["4"].categories,
                  because=[LikedLink(item_id="n", title=name.title, rating=4.0, signal="co-liked", people=12)],
                  shared_categories=[CategoryShare(category="Drama", liked=2)])
    ctx = claim_contexts([ev], LIKED + [HistoryEvent(item_id="n", rating=4.0)], catalog)[0]
    text = "You gave In the Name of the Father 4/5, and 12 of its fans also liked this. It is a drama, like 2 of the movies you liked."
    assert check(text, ctx, VOCAB) == []
    assert "liked_item" in kinds("You gave in and rated it 4/5. It is a drama, like 2 of the movies you liked.", ctx)
