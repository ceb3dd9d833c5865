"""The words the rules read: moods, topics, typos, verdicts, places in a list, and the regex helpers."""

from __future__ import annotations

import difflib
import re
from functools import lru_cache

from agent.intent import CATEGORY_SYNONYMS, MOODS

MOOD_WORDS = {"(?:not|nothing|less|no|aren't|isn't|wasn't) (?:too |so |that |very |overly |too much |so much )?(?:dark|heavy|scary|"
              "intense|bleak|sad|depressing|violent|gory|creepy|spooky|serious)": "lighter", "too scary": "lighter",
              # "but not the scary kind"
              "(?:not|nothing|no) (?:the|a|an) (?:too |so |very |overly )?(?:dark|heavy|scary|intense|bleak|sad|depressing|violent|"
              "gory|creepy|spooky|serious) (?:kind|sort|type|variety|ones?)": "lighter",
              "not (?:too |so )?light": "darker",
              "lighter": "lighter", "light-?hearted": "lighter", "light": "lighter", "darker": "darker", "dark": "darker",
              "feel-good": "feel-good",
              "feel good": "feel-good", "exciting": "exciting", "thought-provoking": "thought-provoking",
              "thought provoking": "thought-provoking", "mind bending": "thought-provoking",
              "makes? you think(?! (?:i|i'd|i'll|i would|that))": "thought-provoking", "scary": "scary", "scare me": "scary", "creepy": "scary",
              "spooky": "scary", "chill": "lighter",
              # "something dumb i don't have to think about", "switch my brain off"
              "(?:don't|do not|won't|wouldn't) (?:have|need) to think|(?:switch|turn) (?:my |your |our )?brains? off|brainless|"
              "mindless": "lighter", "easy": "lighter", "fun": "lighter", "uplifting": "feel-good",
              "heartwarming": "feel-good", "gritty": "darker", "grittier": "darker", "bleak": "darker", "thrilling": "exciting",
              "smart": "thought-provoking", "wholesome": "feel-good",
              "adrenaline": "exciting", "edge of (?:my|your|the) seat": "exciting", "action-packed": "exciting",
              "scarier": "scary", "spookier": "scary", "creepiest": "scary", "scariest": "scary", "spookiest": "scary", "cozy": "lighter", "mind-bending": "thought-provoking",
              "mindbending": "thought-provoking"}  # phrase (a pattern) → mood; the first that matches wins


# the genres a mood favours and avoids, for the moods the older reader (agent.intent.MOODS) lacks
MOOD_GENRES = {**MOODS, "scary": (["Thriller", "Horror", "Mystery"], ["Children", "Animation", "Comedy"])}


# typos and spellings people use, repaired before reading (whole words)
TYPOS = {"comdy": "comedy", "comedys": "comedies", "comedie": "comedy", "horor": "horror", "horrer": "horror",
         "thriler": "thriller", "romcom": "romantic comedy", "romcoms": "romantic comedies", "scifi": "sci-fi",
         "sci fi": "sci-fi", "animaton": "animation", "documentry": "documentary", "ninties": "90s",
         "nineties": "90s", "eighties": "80s", "seventies": "70s", "sixties": "60s", "fifties": "50s",
         "forties": "40s", "thirties": "30s",
         "twothousands": "2000s", "superheros": "superheroes", "super hero": "superhero", "super heroes": "superheroes",
         "wached": "watched", "whatched": "watched", "allready": "already", "alredy": "already", "pls": "please",
         "plz": "please", "u": "you", "ur": "your", "w/o": "without", "dont": "don't", "no more": "no",
         "rom coms": "romantic comedies", "rom com": "romantic comedy", "rom-com": "romantic comedy", "sifi": "sci-fi",
         "xmas": "christmas", "nvm": "never mind", "fav": "favorite", "fave": "favorite", "doesnt": "doesn't",
         "isnt": "isn't", "arent": "aren't", "wasnt": "wasn't", "didnt": "didn't", "cant": "can't", "wont": "won't",
         "havent": "haven't", "ive": "i've", "im": "i'm", "youre": "you're",
         # "what makes you think id like get out": "i'd like", no liking
         "id like": "i'd like", "id love": "i'd love", "id enjoy": "i'd enjoy", "id prefer": "i'd prefer",
         "id rather": "i'd rather", "id want": "i'd want", "id be": "i'd be", "id go": "i'd go",
         "thats": "that's", "whos": "who's", "somethign": "something", "smth": "something", "sth": "something",
         "somethin": "something", "anythin": "anything", "gimme": "give me", "moveis": "movies", "moives": "movies",
         "flicks": "movies", "y": "why", "adn": "and", "teh": "the", "b4": "before", "wat": "what", "abt": "about",
         "howlong": "how long", "funy": "funny", "favs": "favorites", "faves": "favorites",
         "fam": "family", "hows": "how's", "whens": "when's", "convo": "conversation", "nothin": "nothing",
         "waht": "what", "abuot": "about", "abotu": "about", "allredy": "already", "nubmer": "number", "numer": "number",
         "scarey": "scary", "les scary": "less scary", "les scarey": "less scary", "les dark": "less dark", "acutaly": "actually", "gost": "ghost", "movis": "movies", "yer": "year",
         "cartons": "cartoons", "pleese": "please", "sum": "some", "whys": "why's", "kiddie": "kids", "em": "them", "'em": "them"}


# tag words and the catalog tags they stand for (a person says "superheroes", the tags say "comic book")
TAG_GROUPS = {"superhero": ("superhero", "superheroes", "comic book", "marvel", "dc comics", "super-hero"),
              "zombie": ("zombie", "zombies"), "time travel": ("time travel",), "pixar": ("pixar",),
              "disney": ("disney",), "dystopia": ("dystopia", "dystopian"),
              "space": ("space", "space travel"), "christmas": ("christmas",), "vampire": ("vampire", "vampires"),
              "twist ending": ("twist ending", "plot twist", "a twist", "twists", "twisty"),
              "based on a book": ("based on a book", "based on book"),
              "dog": ("dog", "dogs"), "robot": ("robots", "robot"), "alien": ("aliens", "alien"),
              "serial killer": ("serial killer",), "martial arts": ("martial arts", "kung fu"),
              "dinosaur": ("dinosaurs", "dinosaur"), "magic": ("magic",), "pirate": ("pirates", "pirate"),
              "ghost": ("ghost", "ghosts", "haunted house", "haunting"), "dragon": ("dragon", "dragons"),
              "studio ghibli": ("studio ghibli", "ghibli"), "dreamworks": ("dreamworks",),
              "based on a true story": ("based on a true story", "true story", "true stories", "real events"),
              "heist": ("heist", "heists"), "spy": ("spy", "spies", "espionage"), "mafia": ("mafia", "mob", "gangster",
                                                                                      "gangsters"),
              "werewolf": ("werewolf", "werewolves", "werewolfs"), "shark": ("shark", "sharks"),
              "samurai": ("samurai",), "food": ("food", "cooking", "chef", "chefs"), "boxing": ("boxing", "boxer"),
              "football": ("football", "soccer"), "cat": ("cat", "cats"), "high school": ("high school",),
              "witch": ("witch", "witches"), "stephen king": ("stephen king",), "anime": ("anime",),
              "black and white": ("black and white", "b&w"), "sports": ("sports", "sport"),
              "talking animal": ("talking animals", "talking animal"), "road trip": ("road trip", "road movie"),
              "possession": ("possession", "exorcism"), "basketball": ("basketball",),
              "politics": ("politics", "political"), "cyberpunk": ("cyberpunk",),
              "post-apocalyptic": ("post-apocalyptic", "post apocalyptic", "apocalypse"),
              "music": ("music", "musician", "musicians", "band", "bands"), "car chase": ("car chase", "car chases"),
              "clown": ("clown", "clowns"), "nature": ("nature", "wildlife"), "found footage": ("found footage",),
              "animal": ("animal", "animals", "animal movie"),
              "explosion": ("explosion", "explosions"), "psychological": ("psychological",), "gore": ("gore",),
              "detective": ("detective", "detectives"), "friendship": ("friendship", "friendships"),
              "wine": ("wine",), "strong female lead": ("strong female lead", "female lead", "female-led"),
              "paranoia": ("paranoia",), "chainsaw": ("chainsaw", "chainsaws"),
              # "horror but not slasher stuff" keeps the horror; "no vietnam", "nothing raunchy", "without guns"
              "slasher": ("slasher", "slashers"), "violence": ("violence",),
              "gun": ("gun", "guns", "gunfight", "gunfights", "shootout", "shootouts"),
              "vietnam": ("vietnam", "vietnam war"), "raunchy": ("raunchy",), "british": ("british",),
              "halloween": ("halloween",)}


_GENRE_OR_TOPIC_WORDS = frozenset({w for forms in TAG_GROUPS.values() for f in forms for w in f.split()}
                                  | {phrase for phrase in MOOD_WORDS if re.fullmatch(r"[a-z-]+", phrase)}
                                  | {w.lower() for w in [*CATEGORY_SYNONYMS, *CATEGORY_SYNONYMS.values()]}
                                  | {"action", "fantasy"})


_NEG = (r"(?:no|not|without|avoid|skip|except|nothing|none of|less|minus|no more|hates?|dont want|don't want|"
        r"can't stand|cannot stand|can't do|anything but|sick of|tired of|done with|enough(?: of)?|"
        # "neither of us has much patience for a lot of violence", "i have no patience for musicals"
        r"(?:no|little|zero|not much|(?:neither|none) of us (?:has|have)(?: much| any)?|(?:don't|doesn't|do not|does not|"
        r"haven't|hasn't|can't)(?: have| got)?(?: much| any)?) patience (?:for|with)(?: a lot of| lots of| too much| much| any)?|"
        r"(?:that|which) (?:isn't|aren't|is not|are not)|that's not)")


_ORDINAL = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
            "ninth": 9, "tenth": 10, "last": -1}


_POSITION = (r"#\s*(\d{1,2})\b|\bnumber\s+(\d{1,2})\b|\bno\.\s*(\d{1,2})\b|\b(?:the\s+)?(first|second|third|fourth|fifth|"
             r"sixth|seventh|eighth|ninth|tenth|last(?!\s+(?:century|decade|\d+|few|couple|years?|night|week|weekend|month|summer|winter|xmas|christmas|"
             r"halloween|time|part|bit|thing)\b))(?:\s+(?:one|pick|movie|film))?\b|\b(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)"
             r"(?:\s+(?:one|pick|movie|film))?\b")


_ANAPHOR = r"\b(?:that one|this one|that movie|this movie|that film|this film|that|it|this)\b"


def catalog_words(texts) -> set[str]:
    """Lower-case words of 3+ letters in `texts` (titles, tags, descriptions)."""
    return {w for t in texts for w in re.findall(r"[a-z]{3,}", t.lower())}


_NUMBER_WORDS = {w: n for n, w in enumerate("one two three four five six seven eight nine ten".split(), 1)}
_AGES = "one two three four five six seven eight nine ten eleven twelve".split()


def normalise(message: str) -> str:
    text = " ".join(message.lower().replace("’", "'").split())
    for typo, fixed in sorted(TYPOS.items(), key=lambda kv: -len(kv[0])):
        text = re.sub(rf"(?<![\w-]){re.escape(typo)}(?![\w-])", fixed, text)
    text = re.sub(r"\b(?:the )?(?:top|first) (?:pick|choice)\b", "the first one", text)  # "the top pick"
    # "seen it like 50 times": a filler "like", no liking
    text = re.sub(r"\blike (?=(?:a (?:dozen|million|hundred|thousand|few)|\d+|so many|two|three|four|five|six|seven|"
                  r"eight|nine|ten|twenty|fifty) ?(?:times|x)\b)", "", text)  # "like five times"
    # a spoken filler "like": "um so like can you ...", "she's like obsessed with", "that'll like keep me ..."
    text = re.sub(r"(^|[.!?,]\s*)((?:(?:um+|uh+|erm|er|so|well|oh)\s+)+)like\s+"
                  r"(?!#|\d|(?:the|it|that|this|them|these|those|both|all)\b)", r"\1\2", text)
    text = re.sub(r"(?<!\bi )(?<!\bwe )(?<!\byou )(?<!\bthey )(?<!would )(?<!'d )(?<!more )(?<!something )(?<!anything )"
                  r"\blike (?=(?:proper|properly|really|totally|literally|super|actually|basically|obsessed|keep|keeps|make me|"
                  r"blow|scare)\b)", "", text)
    # "my four year old": an age in words
    text = re.sub(r"\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)(?=[- ](?:years?|yrs?)[- ]olds?\b)",
                  lambda m: str(_AGES.index(m.group(1)) + 1), text)
    text = re.sub(r"\b(from|between|since|around|before|after) like (?=(?:19|20)\d\d|\d0'?s)", r"\1 ", text)  # "from like 1945"
    text = re.sub(r"\bso{3,}\b", "so", text)  # "sooo good"
    text = re.sub(r"\b(similar|close) 2 (?=#|[a-z])", r"\1 to ", text)  # "similar 2 #1": '2' for 'to'
    # a statement with a question tag asks a question: "casino is like 3 hrs right?" -> "is casino like 3 hrs?"
    text = re.sub(r"(^|[.!?]\s+)([a-z0-9][\w' :-]{1,40}?) (is|was|isn't|wasn't) ([^.!?]{2,60}?),? (?:right|is it|isn't it|"
                  r"wasn't it|was it|no|yeah|correct)\?",
                  lambda m: m.group(1) + m.group(3).replace("n't", "") + f" {m.group(2)} {m.group(4)}?", text)
    text = re.sub(r"(^|[.!?]\s+)([a-z0-9][\w' :-]{1,40}?), (?:it|that) (is|was) ([^.!?]{2,60}?)\?",
                  lambda m: f"{m.group(1)}{m.group(3)} {m.group(2)} {m.group(4)}?", text)
    # "number five", "no. two", "#three": a place in the list written as a word
    return re.sub(rf"(\bnumber\s+|\bno\.\s*|#\s*)({'|'.join(_NUMBER_WORDS)})\b",
                  lambda m: f"{m.group(1)}{_NUMBER_WORDS[m.group(2)]}", text)


@lru_cache(maxsize=1)
def _keywords() -> frozenset[str]:
    """The words the rules read: genres, topics, moods, verdicts, question words."""
    single = [w for w in [*CATEGORY_SYNONYMS, *CATEGORY_SYNONYMS.values(), *TAG_GROUPS, *MOOD_WORDS,
                          *(f for forms in TAG_GROUPS.values() for f in forms)] if re.fullmatch(r"[a-z]+", w)]
    single += """comedy comedies horror thriller thrillers western westerns musical musicals drama dramas romance
    mystery fantasy adventure action animation documentary children movies movie films something anything recommend
    suggest similar already watched interesting worth travel older newer recent classic funnier boring perfect amazing
    awesome terrible excellent brilliant fantastic instead except without hilarious favorite favorites directed
    director before after since until""".split()
    return frozenset(w for w in single if len(w) >= 5)


# everyday words a typo repair must not turn into a keyword ("since" is not "science")
_PLAIN_WORDS = frozenset("""since sense scene there their about would could should other these those which where while
think thing maybe actually really little still never always again after before under above below first second third
fourth fifth last night today tonight tomorrow weekend watch watching seeing guess happy sorry thanks right wrong
might alone together friend friends girlfriend boyfriend husband partner daughter parents mother father sister
brother stuff great sound sounds looks looked liked loved hated enjoy enjoyed start again rather pretty kinda sorta
lighter fighter ditch watches watched chases""".split())


def repair_typos(text: str, known_words: set[str]) -> str:
    """Each word of 5+ letters that neither the catalog nor the rules know, replaced by the rules'
    word it nearly is ("horrror", "dragns", "worht", "perfcet"); a title's word is left alone."""
    keywords = _keywords()

    def repaired(m: re.Match) -> str:
        word = m.group(0)
        if len(word) < 5 or word in keywords or word in known_words or word in _PLAIN_WORDS:
            return word
        close = difflib.get_close_matches(word, keywords, n=1, cutoff=0.8)
        return close[0] if close else word
    return re.sub(r"[a-z]+", repaired, text)


# words too common to tell a title apart when said alone ("something dark" names no Dark Knight)
_PLAIN_TITLE_WORDS = frozenset("""the a an of and in on to for with at by from is it my your his her our their man men
woman women love day night dark story life world war wars big little last first new good great time one two three
king black white red blue green house home girl boy girls boys part movie film lost star stars kids city game games
dead death live back future american return returns rising ever after under over out up down all into about more
family friends friend school summer winter christmas secret hunt space shadow shadows blood light money street
""".split())


_PRONOUNS = frozenset("it its her him me us you them this that one his my our".split())


_GOOD = (r"great|perfect|amazing|awesome|good|nice|fantastic|brilliant|excellent|favou?rites?|a yes|yes|love it|"
         r"lovely|wonderful|delightful|charming|superb|"
         r"5 stars|five stars|10/10|a must|must|sold|>>>|a masterpiece|masterpiece|goat|a classic|cute|cool|sick(?! of)|hilarious|dope|fire|intriguing|promising|solid|"
         r"incredible|phenomenal|outstanding|stunning|ace|brill|cracking|top notch|bonza|bonzer|"  # "number 2 looks ace"
         r"looks? (?:great|good|fun|interesting)|sounds? (?:great|good|perfect|fun|interesting)|👍|❤️|♥|🔥|😍")


_BAD = (r"boring|a no|no thanks|nope|nah|not for me|(?:aren't|isn't|are not|is not) for me|not my thing|isn't my thing|"
        # "3 isnt my cup of tea", "that's not really my cup of tea"
        r"(?:not|isn't|is not|aren't|are not|wasn't|was not) (?:really |quite |exactly )?(?:my|our) cup of tea|meh|bad|awful|"
        r"not (?:really )?my (?:kind|type|sort|style) of [\w-]+|not (?:really )?my (?:style|taste|vibe|jam)|"
        r"i (?:don't|do not|didn't|did not) (?:really )?(?:like|love|enjoy|want)|(?:is|are|was|were) for bab(?:ie|y)s|"
        r"terrible|(?<!n't )(?<!not )(?<!never )hated?|didn't care for|don't care for|skip|pass|dumb|lame|stupid|too slow|not interested|"
        r"no way|hard pass|no|not so much|not really|not feeling it|👎|🤮|😴|"
        r"snooze ?fest|rubbish|naff|crap|dull|tedious|(?:so |way |massively |hugely )?overrated")


# a verdict said without its subject ("i have watch the amelie, is very nice")
_SUBJECTLESS = rf"(?:is|was) (?:very |so |really |quite )?(?:{_GOOD}|boring|bad|terrible|awful)"


# praise said in other words, read as "is great"
_PRAISE = (r"(?:\b(?:is|was|are|were)|'s) (?:the best|the goat|goated|peak|elite|iconic|legendary|top tier|so underrated|"
           r"underrated|my childhood|on my all[- ]time list|my (?:all[- ]time )?(?:favou?rite|fave?)|one of my (?:all[- ]time )?(?:favou?rite|fave?)s|"
           r"an? (?:absolute |total |real )?"
           r"(?:banger|gem|vibe|masterpiece|classic|must[- ]see|10|(?:big |huge |real )?hit))\b|"
           r"(?:\b(?:is|was)|'s) an? (?:all[- ]time )?(?:favou?rite|fave?)(?: of (?:mine|ours))?\b|"  # "an all-time favourite of mine"
           # "the last two are classics", "that one really got me"
           r"\b(?:are|were) (?:all |both )?(?:absolute |total |real )?(?:classics|bangers|gems|masterpieces)\b|"
           r"\s?\b(?:really|totally|properly) got (?:me|to me)\b|\s?\b(?:hit (?:me )?(?:hard|home)|spoke to me)\b|"
           r"\s?\b(?:blew (?:my mind|me away)|slaps|rocks)\b|"
           r"(?:\b(?:is|was|looks?|sounds?|seems?)|'s) (?:so |really |very )?[\w-]+ in (?:a|the) (?:good|great|best) way\b")


# words that end a message, not a name ("seen all of these mate")
_FILLER = r"please|pls|lol|haha|thanks|thx|though|tho|honestly|tbh|again|fyi|btw|mate|bro|dude"


# words that make a phrase a kind of film, not a title ("i hate musicals", "loved dogs in films")
_GENERIC = (r"\b(movies?|films?|stuff|musicals?|comed(?:y|ies)|horrors?|documentar\w*|romances?|romcoms?|dramas?|"
            r"thrillers?|westerns?|cartoons?|kids|action|sci-fi|anime|something|anything|everything|ones|those|"
            r"these|them|genre|kind|subtitles|subs|dubbing|gore|violence)\b")


@lru_cache(maxsize=None)
def _compiled(pattern: str) -> re.Pattern:
    """The rules' patterns built per genre and topic outnumber re's own cache: compiled once here."""
    return re.compile(pattern)


def _search(pattern: str, text: str) -> re.Match | None:
    return _compiled(pattern).search(text)


def _finditer(pattern: str, text: str):
    return _compiled(pattern).finditer(text)


def _forms_pattern(forms) -> str:
    """A topic's forms, each also in the plural ("twist endings", "plot twists")."""
    return "|".join(re.escape(f) + "(?:s|es)?" for f in sorted(forms, key=len, reverse=True))


def _genre_patterns(genres: list[str]) -> dict[str, str]:
    out: dict[str, list[str]] = {g: [re.escape(g.lower()), re.escape(g.lower()) + "s"] for g in genres}
    lower = {g.lower(): g for g in genres}
    for word, target in CATEGORY_SYNONYMS.items():
        if target in lower and word not in ("scary",):  # "scary" is a mood, not the Horror genre
            out[lower[target]].append(re.escape(word))
    for extra, target in (("romantic comed(?:y|ies)", "romance"), ("cartoons?", "animation"), ("docs?", "documentary"),
                          ("anime", "animation"), ("noir", "film-noir"), ("tearjerkers?", "drama"),
                          (r"\d+ ?(?:yo|y/o|(?:yr|year)s?[- ]olds?|(?:yr|year)s? old)", "children"),
                          ("little ones|toddlers?|kid[- ]friendly|family[- ]friendly", "children"),
                          # "for my son"; "my kid already saw these" says who has seen them
                          (r"(?:for )?(?:(?:my|our) (?:(?:small|little|young|younger|youngest|baby) )?(?:sons?|daughters?|kids?|"
                           r"little ones?|nephews?|nieces?)|(?:my |our |the )?grand(?:kids?|children|child|sons?|daughters?))"
                           r"(?! (?:already |has |have |just )*(?:seen|saw|watched)\b)", "children"),
                          ("a good cry|(?:make|makes) (?:me|you|us) cry|(?:film|movie) to cry(?: to| at)?", "drama"), ("funnier|laughs", "comedy")):
        if target in lower:
            out[lower[target]].append(extra)
    patterns = {g: "|".join(sorted(set(p), key=len, reverse=True)) for g, p in out.items()}
    if "Action" in patterns:  # "live action" films are not Action films
        patterns["Action"] = rf"(?<!live )(?<!live-)(?:{patterns['Action']})"
    return patterns
