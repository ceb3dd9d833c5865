"""Chat that understands a conversation: typed acts for each message, references resolved one
way ("#1", "that one", a title), "why" answered from the data without a new list, "seen" kept,
and exclusions that reach the candidates and the reasons."""

import pytest

from agent.acts import Ref, read_turn
from evals.chat_acts import GENRES, load, movielens_words, rules_reader, score

SHOWN = ["Toy Story (1995)", "Heat (1995)", "Casino (1995)", "Jumanji (1995)", "Balto (1995)"]


def acts(text: str, shown=SHOWN) -> list[dict]:
    return [a.model_dump(exclude_defaults=True) for a in read_turn(text, GENRES, shown, movielens_words())]


@pytest.mark.parametrize("text, expected", [
    ("why did you pick #1?", [{"act": "explain", "ref": {"position": 1}}]),
    ("I already saw that one, something else", [{"act": "feedback", "signal": "seen", "refs": [{"anaphor": True}]},
                                                {"act": "recommend"}]),
    ("something lighter, no superheroes", [{"act": "recommend", "mood": "lighter", "not_tags": ["superhero"]}]),
    ("more like the second one", [{"act": "more_like", "ref": {"position": 2}}]),
    ("no horror but something scary-ish from the 80s",
     [{"act": "recommend", "not_genres": ["Horror"], "mood": "scary", "era": {"start": 1980, "end": 1989}}]),
    ("why #3 and is it scary?", [{"act": "explain", "ref": {"position": 3}},
                                 {"act": "question", "ref": {"anaphor": True}, "about": "genre"}]),
    ("start over", [{"act": "reset"}]),
    # each feedback signal takes only the items named after it, up to the next clause's act
    ("like #2, dislike #3", [{"act": "feedback", "signal": "like", "refs": [{"position": 2}]},
                             {"act": "feedback", "signal": "dislike", "refs": [{"position": 3}]}]),
    ("#2 looks good, who's in it?", [{"act": "feedback", "signal": "like", "refs": [{"position": 2}]},
                                     {"act": "question", "ref": {"anaphor": True}, "about": "cast"}]),
    ("i saw number five", [{"act": "feedback", "signal": "seen", "refs": [{"position": 5}]}]),
    ("watched that one twice", [{"act": "feedback", "signal": "seen", "refs": [{"anaphor": True}]}]),
    ("feel good comedy from before 1980", [{"act": "recommend", "genres": ["Comedy"], "mood": "feel-good",
                                            "era": {"end": 1979}}]),
    ("asdf", [{"act": "unclear"}]),
    # what a blind batch taught: typos of the rules' words, titles by a part, exclusions of titles
    ("gimme somethin with aliens but no horrror", [{"act": "recommend", "not_genres": ["Horror"], "tags": ["alien"]}]),
    ("why jumanj?", [{"act": "explain", "ref": {"title": "jumanj"}}]),
    ("anything but harry potter", [{"act": "recommend", "not_titles": ["harry potter"]}]),
    ("comedy instead of romance", [{"act": "recommend", "genres": ["Comedy"]},
                                   {"act": "undo", "what": {"genres": ["Romance"]}}]),
    ("seen the first three", [{"act": "feedback", "signal": "seen",
                               "refs": [{"position": 1}, {"position": 2}, {"position": 3}]}]),
    ("horror is fine again, and make it 80s", [{"act": "undo", "what": {"not_genres": ["Horror"]}},
                                               {"act": "recommend", "era": {"start": 1980, "end": 1989}}]),
    ("the last two are a no", [{"act": "feedback", "signal": "dislike", "refs": [{"position": 4}, {"position": 5}]}]),
    ("can u order me a pizza", [{"act": "unclear"}]),
    ("cartoon for my 6 year old", [{"act": "recommend", "genres": ["Animation", "Children"]}]),
    # what blind5 and blind6 taught (read after their first scores)
    ("why the last two", [{"act": "explain", "ref": {"position": 4}}, {"act": "explain", "ref": {"position": 5}}]),
    ("the last two arent for me", [{"act": "feedback", "signal": "dislike", "refs": [{"position": 4}, {"position": 5}]}]),
    ("seen 1 2 and 4", [{"act": "feedback", "signal": "seen",
                         "refs": [{"position": 1}, {"position": 2}, {"position": 4}]}]),
    ("no musicals anymore", [{"act": "recommend", "not_genres": ["Musical"]}]),
    ("live action family movies", [{"act": "recommend", "genres": ["Children"]}]),
    ("is #5 a kids movie?", [{"act": "question", "ref": {"position": 5}, "about": "genre"}]),
    ("nah scrap that", [{"act": "undo", "what": {"last": True}}]),
    ("wipe my filters", [{"act": "reset"}]),
    ("I loved Arrival, anything similar?", [{"act": "feedback", "signal": "like", "refs": [{"title": "arrival"}]},
                                            {"act": "more_like", "ref": {"anaphor": True}}]),
    # what blind7 taught (read after its first score): praise in other words, resets, undo, questions
    ("heat is the best", [{"act": "feedback", "signal": "like", "refs": [{"title": "heat"}]}]),
    ("zodiac blew me away 🤯 what else is like it", [{"act": "feedback", "signal": "like", "refs": [{"title": "zodiac"}]},
                                                    {"act": "more_like", "ref": {"anaphor": True}}]),
    ("let's start from zero", [{"act": "reset"}]),
    ("new conversation. something funny", [{"act": "reset"}, {"act": "recommend", "genres": ["Comedy"]}]),
    ("westerns can come back", [{"act": "undo", "what": {"not_genres": ["Western"]}}]),
    ("drop the feel good part", [{"act": "undo", "what": {"mood": True}}]),
    ("when did casino come out", [{"act": "question", "ref": {"title": "casino"}, "about": "year"}]),
    ("is heat a thriller?", [{"act": "question", "ref": {"title": "heat"}, "about": "genre"}]),
    ("not feeling the first two", [{"act": "feedback", "signal": "dislike", "refs": [{"position": 1}, {"position": 2}]}]),
    ("seen heat a dozen times, what's similar from the 80s",
     [{"act": "feedback", "signal": "seen", "refs": [{"title": "heat"}]},
      {"act": "more_like", "ref": {"anaphor": True}, "era": {"start": 1980, "end": 1989}}]),
    ("saw casino and didn't love it", [{"act": "feedback", "signal": "seen", "refs": [{"title": "casino"}]},
                                       {"act": "feedback", "signal": "dislike", "refs": [{"anaphor": True}]}]),
    # what blind8 taught (read after its first score): thumbs after items, a bare verdict, question tags
    ("heat 👍 casino 👎", [{"act": "feedback", "signal": "like", "refs": [{"title": "heat"}]},
                          {"act": "feedback", "signal": "dislike", "refs": [{"title": "casino"}]}]),
    ("jumanji, yes please!", [{"act": "feedback", "signal": "like", "refs": [{"title": "jumanji"}]}]),
    ("heat is like 3 hours right?", [{"act": "question", "ref": {"title": "heat"}, "about": "length"}]),
    ("balto isn't really for kids is it?", [{"act": "question", "ref": {"title": "balto"}, "about": "genre"}]),
    ("in which year is casino made?", [{"act": "question", "ref": {"title": "casino"}, "about": "year"}]),
    ("ditch the animated filter", [{"act": "undo", "what": {"genres": ["Animation"]}}]),
    ("doesn't have to be from the 90s", [{"act": "undo", "what": {"era": True}}]),
    ("whats a zombie movie that's actually scary", [{"act": "recommend", "tags": ["zombie"], "mood": "scary"}]),
    ("saw heat last christmas", [{"act": "feedback", "signal": "seen", "refs": [{"title": "heat"}]}]),
    # what blind9 taught (read after its first score)
    ("we'll go with jumanji!", [{"act": "feedback", "signal": "like", "refs": [{"title": "jumanji"}]}]),
    ("scratch the zombie stuff", [{"act": "undo", "what": {"tags": ["zombie"]}}]),
    ("drop the early 90s bit", [{"act": "undo", "what": {"era": True}}]),
    ("no to heat, too long and too violent", [{"act": "feedback", "signal": "dislike", "refs": [{"title": "heat"}]}]),
    ("Casino, it is a true story?", [{"act": "question", "ref": {"title": "casino"}, "about": "other"}]),
    ("war films after year 2000", [{"act": "recommend", "genres": ["War"], "era": {"start": 2001}}]),
    ("something in the same vein as Chinatown", [{"act": "more_like", "ref": {"title": "chinatown"}}]),
    ("why #3? and like 2 but darker", [{"act": "explain", "ref": {"position": 3}},
                                       {"act": "more_like", "ref": {"position": 2}, "mood": "darker"}]),
    ("seen them all. show me five more", [{"act": "feedback", "signal": "seen", "refs": [{"position": n} for n in range(1, 6)]},
                                          {"act": "recommend"}]),
    ("is there a movie that is both funny and scary?", [{"act": "recommend", "genres": ["Comedy"], "mood": "scary"}]),
    # what blind10 taught (read after its first score)
    ("could you tell me who directed heat?", [{"act": "question", "ref": {"title": "heat"}, "about": "cast"}]),
    ("he vetoed casino", [{"act": "feedback", "signal": "dislike", "refs": [{"title": "casino"}]}]),
    ("perfect, jumanji it is", [{"act": "feedback", "signal": "like", "refs": [{"title": "jumanji"}]}]),
    ("ok compromise: like heat but funnier", [{"act": "more_like", "ref": {"title": "heat"}, "genres": ["Comedy"]}]),
    ("thx bye", [{"act": "unclear"}]),
    ("any decade is fine, lose the 50s thing", [{"act": "undo", "what": {"era": True}}]),
    ("a war film from the years 60 or 70", [{"act": "recommend", "genres": ["War"], "era": {"start": 1960, "end": 1979}}]),
    ("more along the lines of The Third Man", [{"act": "more_like", "ref": {"title": "the third man"}}]),
    ("seen every one of these many times over", [{"act": "feedback", "signal": "seen",
                                                  "refs": [{"position": n} for n in range(1, 6)]}]),
    ("heat's an odd pick, what was the reasoning?", [{"act": "explain", "ref": {"title": "heat"}}]),
    # what blind11 taught (read after its first score)
    ("westerns aren't a must anymore", [{"act": "undo", "what": {"genres": ["Western"]}}]),
    ("comedy is no longer a requirement", [{"act": "undo", "what": {"genres": ["Comedy"]}}]),
    ("#3 is a hard pass", [{"act": "feedback", "signal": "dislike", "refs": [{"position": 3}]}]),
    ("give me the gist of casino", [{"act": "question", "ref": {"title": "casino"}, "about": "plot"}]),
    ("when is #1 from and how long is it", [{"act": "question", "ref": {"position": 1}, "about": "year"},
                                            {"act": "question", "ref": {"anaphor": True}, "about": "length"}]),
    ("new topic. something spooky", [{"act": "reset"}, {"act": "recommend", "mood": "scary"}]),
    ("what can this thing do", [{"act": "unclear"}]),
    ("balto!! my all time fave", [{"act": "feedback", "signal": "like", "refs": [{"title": "balto"}]}]),
    ("love the first two, more in that vein please", [
        {"act": "feedback", "signal": "like", "refs": [{"position": 1}, {"position": 2}]},
        {"act": "more_like", "ref": {"anaphor": True}}]),
    ("early 80s stuff, any genre is fine", [{"act": "recommend", "era": {"start": 1980, "end": 1984}}]),
    ("no horror and no zombies", [{"act": "recommend", "not_genres": ["Horror"], "not_tags": ["zombie"]}]),
    ("not home alone or elf", [{"act": "recommend", "not_titles": ["home alone", "elf"]}]),
    ("no horror but something scary-ish", [{"act": "recommend", "not_genres": ["Horror"], "mood": "scary"}]),
    ("is les miserables a musical?", [{"act": "question", "ref": {"title": "les miserables"}, "about": "genre"}]),
    # what blind12 taught (read after its first score)
    ("films noir from the forties", [{"act": "recommend", "genres": ["Film-Noir"], "era": {"start": 1940, "end": 1949}}]),
    ("a horror movie with a twist", [{"act": "recommend", "genres": ["Horror"], "tags": ["twist ending"]}]),
    ("any new musicals out there", [{"act": "recommend", "genres": ["Musical"], "era": {"start": 2010}}]),
    ("documentary about animals", [{"act": "recommend", "genres": ["Documentary"], "tags": ["animal"]}]),
    ("nothing with talking animals", [{"act": "recommend", "not_tags": ["talking animal"]}]),
    ("can you book me 2 tickets for friday", [{"act": "unclear"}]),
    ("are you a real person or an ai", [{"act": "unclear"}]),
    ("what can this bot even do", [{"act": "unclear"}]),
    ("thumbs up for the jumanji one! why'd you put it in though", [
        {"act": "feedback", "signal": "like", "refs": [{"title": "jumanji"}]}, {"act": "explain", "ref": {"anaphor": True}}]),
    ("big fan of hot fuzz, find me something like it but newer", [
        {"act": "feedback", "signal": "like", "refs": [{"title": "hot fuzz"}]},
        {"act": "more_like", "ref": {"anaphor": True}, "era": {"start": 2010}}]),
    ("not a big fan of casino", [{"act": "feedback", "signal": "dislike", "refs": [{"title": "casino"}]}]),
    ("why heat, and who's the lead in it", [{"act": "explain", "ref": {"title": "heat"}},
                                            {"act": "question", "ref": {"anaphor": True}, "about": "cast"}]),
    ("seen 1. why 4? and is 5 scary", [{"act": "feedback", "signal": "seen", "refs": [{"position": 1}]},
                                       {"act": "explain", "ref": {"position": 4}},
                                       {"act": "question", "ref": {"position": 5}, "about": "genre"}]),
    ("my kids have watched the first three a million times", [
        {"act": "feedback", "signal": "seen", "refs": [{"position": 1}, {"position": 2}, {"position": 3}]}]),
    ("war film please, anything except saving private ryan, my dad has watched it 50 times", [
        {"act": "recommend", "genres": ["War"], "not_titles": ["saving private ryan"]}]),
    ("I already saw Get Out and The Conjuring, what other horror is there?", [
        {"act": "feedback", "signal": "seen", "refs": [{"title": "get out"}, {"title": "the conjuring"}]},
        {"act": "recommend", "genres": ["Horror"]}]),
    ("I've already seen Inception and Interstellar fyi", [
        {"act": "feedback", "signal": "seen", "refs": [{"title": "inception"}, {"title": "interstellar"}]}]),
    ("parasite was incredible", [{"act": "feedback", "signal": "like", "refs": [{"title": "parasite"}]}]),
    ("honestly the notebook was so boring", [{"act": "feedback", "signal": "dislike", "refs": [{"title": "the notebook"}]}]),
    # what blind13 taught (read after its first score)
    ("how does this work?", [{"act": "unclear"}]),
    ("is it gonna snow this weekend", [{"act": "unclear"}]),
    ("casino is not really my kind of movie", [{"act": "feedback", "signal": "dislike", "refs": [{"title": "casino"}]}]),
    ("#3 looks intense in a good way, who's in it", [{"act": "feedback", "signal": "like", "refs": [{"position": 3}]},
                                                     {"act": "question", "ref": {"anaphor": True}, "about": "cast"}]),
    ("balto ✅ seen", [{"act": "feedback", "signal": "seen", "refs": [{"title": "balto"}]}]),
    ("heat - already seen", [{"act": "feedback", "signal": "seen", "refs": [{"title": "heat"}]}]),
    ("seen heat, seen casino, the rest are new", [
        {"act": "feedback", "signal": "seen", "refs": [{"title": "heat"}, {"title": "casino"}]}]),
    ("why heat and why jumanji", [{"act": "explain", "ref": {"title": "heat"}}, {"act": "explain", "ref": {"title": "jumanji"}}]),
    ("my son already watched all of these, anything else?", [
        {"act": "feedback", "signal": "seen", "refs": [{"position": n} for n in range(1, 6)]}, {"act": "recommend"}]),
    ("something creepy but not a real horror movie", [{"act": "recommend", "not_genres": ["Horror"], "mood": "scary"}]),
    ("psychological thrillers, no gore", [{"act": "recommend", "genres": ["Thriller"], "tags": ["psychological"],
                                          "not_tags": ["gore"]}]),
    ("more toy story type stuff", [{"act": "more_like", "ref": {"title": "toy story"}}]),
    ("more true story type stuff", [{"act": "recommend", "tags": ["based on a true story"]}]),
    ("explain the casino pick", [{"act": "explain", "ref": {"title": "casino"}}]),
    # what blind14 taught (read after its first score)
    ("Could you recommend films resembling 'Heat'?", [{"act": "more_like", "ref": {"title": "heat"}}]),
    ("I wonder why 'Casino' was chosen.", [{"act": "explain", "ref": {"title": "casino"}}]),
    ("Kindly ignore what I just asked for.", [{"act": "undo", "what": {"last": True}}]),
    ("scratch that last thing i typed", [{"act": "undo", "what": {"last": True}}]),
    ("forget what i said", [{"act": "reset"}]),
    ("erase everything and we start new", [{"act": "reset"}]),
    ("ditch all the filters", [{"act": "reset"}]),
    ("let's not bother about the decade", [{"act": "undo", "what": {"era": True}}]),
    ("I have watch Jumanji, was very good", [{"act": "feedback", "signal": "seen", "refs": [{"title": "jumanji"}]},
                                             {"act": "feedback", "signal": "like", "refs": [{"anaphor": True}]}]),
    ("heat, is good?", [{"act": "question", "ref": {"title": "heat"}, "about": "rating"}]),
    ("the #2 has french subtitles?", [{"act": "question", "ref": {"position": 2}, "about": "other"}]),
    ("balto is a cartoon?", [{"act": "question", "ref": {"title": "balto"}, "about": "genre"}]),
    ("is casino drama?", [{"act": "question", "ref": {"title": "casino"}, "about": "genre"}]),
    ("In what year did 'Heat' come out?", [{"act": "question", "ref": {"title": "heat"}, "about": "year"}]),
    ("where can i watch the last one", [{"act": "question", "ref": {"position": -1}, "about": "other"}]),
    ("#4 year?", [{"act": "question", "ref": {"position": 4}, "about": "year"}]),
    ("lame. number 2", [{"act": "feedback", "signal": "dislike", "refs": [{"position": 2}]}]),
    ("not the first one pls", [{"act": "feedback", "signal": "dislike", "refs": [{"position": 1}]}]),
    ("similar 2 heat", [{"act": "more_like", "ref": {"title": "heat"}}]),
    ("👎👎 for #3", [{"act": "feedback", "signal": "dislike", "refs": [{"position": 3}]}]),
    ("why would my daughter like the last one", [{"act": "explain", "ref": {"position": -1}}]),
    ("why do you think we'd enjoy the kubrick", [{"act": "explain", "ref": {"describe": "kubrick"}}]),
    ("how long is jumanji, do people like it?", [{"act": "question", "ref": {"title": "jumanji"}, "about": "length"}]),
    ("do you ever watch films yourself?", [{"act": "unclear"}]),
    ("can you reserve two theater seats", [{"act": "unclear"}]),
    ("Heat is a favourite of ours", [{"act": "feedback", "signal": "like", "refs": [{"title": "heat"}]}]),
    ("the dog one was a big hit, anything similar?", [{"act": "feedback", "signal": "like", "refs": [{"describe": "dog"}]},
                                                       {"act": "more_like", "ref": {"anaphor": True}}]),
    ("loved casino. something along these lines?", [{"act": "feedback", "signal": "like", "refs": [{"title": "casino"}]},
                                                    {"act": "more_like", "ref": {"anaphor": True}}]),
    ("#1 is nice, you have more same like it?", [{"act": "feedback", "signal": "like", "refs": [{"position": 1}]},
                                                 {"act": "more_like", "ref": {"anaphor": True}}]),
    ("jumanji i didn't like, too loud", [{"act": "feedback", "signal": "dislike", "refs": [{"title": "jumanji"}]}]),
    ("my nephew says toy story is for babies", [{"act": "feedback", "signal": "dislike", "refs": [{"title": "toy story"}]}]),
    ("he's seen heat, i haven't, but it's a yes for both of us", [
        {"act": "feedback", "signal": "seen", "refs": [{"title": "heat"}]},
        {"act": "feedback", "signal": "like", "refs": [{"anaphor": True}]}]),
    ("those look fine but could we get something funnier", [{"act": "recommend", "genres": ["Comedy"]}]),
    ("an animated film for my little son", [{"act": "recommend", "genres": ["Animation", "Children"]}]),
    ("something our grandkids would like too", [{"act": "recommend", "genres": ["Children"]}]),
    ("a war film, nothing too much sad", [{"act": "recommend", "genres": ["War"], "mood": "lighter"}]),
    ("crime from the 70s, the grittier the better", [{"act": "recommend", "genres": ["Crime"],
                                                      "era": {"start": 1970, "end": 1979}, "mood": "darker"}]),
    ("heist movies but not heat itself", [{"act": "recommend", "tags": ["heist"], "not_titles": ["heat"]}]),
    # what blind15 taught (read after its first score): dictation, chatty context, British and Australian phrasing
    ("uh so like could you find me a comedy for tonight", [{"act": "recommend", "genres": ["Comedy"]}]),
    ("my six year old is like obsessed with pirates right now, any ideas", [
        {"act": "recommend", "genres": ["Children"], "tags": ["pirate"]}]),
    ("anything recent that'll like keep me on the edge of my seat", [{"act": "recommend", "era": {"start": 2010},
                                                                       "mood": "exciting"}]),
    ("we want loads of explosions, proper adrenaline stuff", [{"act": "recommend", "tags": ["explosion"], "mood": "exciting"}]),
    ("seen heat like three times", [{"act": "feedback", "signal": "seen", "refs": [{"title": "heat"}]}]),
    ("the kids are asleep at last, something gritty from the 80s", [
        {"act": "recommend", "era": {"start": 1980, "end": 1989}, "mood": "darker"}]),
    ("i watched half of a thriller yesterday and fell asleep, something funnier", [{"act": "recommend", "genres": ["Comedy"]}]),
    ("these are a bit much for me, something lighter", [{"act": "recommend", "mood": "lighter"}]),
    ("a comedy that isnt love actually or heat", [{"act": "recommend", "genres": ["Comedy"],
                                                    "not_titles": ["love actually", "heat"]}]),
    ("we loved casino back in the day, anything in that vein?", [
        {"act": "feedback", "signal": "like", "refs": [{"title": "casino"}]}, {"act": "more_like", "ref": {"anaphor": True}}]),
    ("balto really got me, anything similar?", [{"act": "feedback", "signal": "like", "refs": [{"title": "balto"}]},
                                                {"act": "more_like", "ref": {"anaphor": True}}]),
    ("how is jumanji anything like what we asked for", [{"act": "explain", "ref": {"title": "jumanji"}}]),
    ("what's the reasoning behind 3", [{"act": "explain", "ref": {"position": 3}}]),
    ("is 4 ok for a six year old", [{"act": "question", "ref": {"position": 4}, "about": "genre"}]),
    ("seen all of them mate", [{"act": "feedback", "signal": "seen", "refs": [{"position": n} for n in range(1, 6)]}]),
    ("heat and casino are classics, love them", [{"act": "feedback", "signal": "like",
                                                  "refs": [{"title": "heat"}, {"title": "casino"}]}]),
    ("1, 3 and 5 - seen them", [{"act": "feedback", "signal": "seen", "refs": [{"position": n} for n in (1, 3, 5)]}]),
    ("toy story was way too childish for me", [{"act": "feedback", "signal": "dislike", "refs": [{"title": "toy story"}]}]),
    ("i can't stomach casino, it'd give me nightmares", [{"act": "feedback", "signal": "dislike",
                                                          "refs": [{"title": "casino"}]}]),
    ("my gf can't handle it, nothing scary", [{"act": "recommend", "mood": "lighter"}]),
    ("jumanji looks ace", [{"act": "feedback", "signal": "like", "refs": [{"title": "jumanji"}]}]),
    ("casino was a total slog", [{"act": "feedback", "signal": "dislike", "refs": [{"title": "casino"}]}]),
    ("5 stars for casino ⭐ how long is it?", [{"act": "feedback", "signal": "like", "refs": [{"title": "casino"}]},
                                             {"act": "question", "ref": {"anaphor": True}, "about": "length"}]),
    ("never mind it being from the 90s", [{"act": "undo", "what": {"era": True}}]),
    ("no need for it to be set in space", [{"act": "undo", "what": {"tags": ["space"]}}]),
    ("let's start from scratch and try something completely different", [{"act": "reset"}, {"act": "recommend"}]),
    ("how do i cancel my subscription", [{"act": "unclear"}]),
    # what blind16 taught (read after its first score): sarcasm, terse verdicts, reasons for a rule
    ("oh great, casino. how original", [{"act": "feedback", "signal": "dislike", "refs": [{"title": "casino"}]}]),
    ("you seriously thought we'd enjoy balto?", [{"act": "feedback", "signal": "dislike", "refs": [{"title": "balto"}]}]),
    ("cause what we really needed after asking for no kids stuff was toy story", [
        {"act": "recommend", "not_genres": ["Children"]},
        {"act": "feedback", "signal": "dislike", "refs": [{"title": "toy story"}]}]),
    ("heat is so overrated", [{"act": "feedback", "signal": "dislike", "refs": [{"title": "heat"}]}]),
    ("casino put me to sleep", [{"act": "feedback", "signal": "dislike", "refs": [{"title": "casino"}]}]),
    ("seen heat already. jumanji as well", [{"act": "feedback", "signal": "seen",
                                              "refs": [{"title": "heat"}, {"title": "jumanji"}]}]),
    ("we'd happily watch #2, but why #4?", [{"act": "feedback", "signal": "like", "refs": [{"position": 2}]},
                                           {"act": "explain", "ref": {"position": 4}}]),
    ("cmd z", [{"act": "undo", "what": {"last": True}}]),
    ("comedy please, but no cartoons, my nephews are sick of them", [
        {"act": "recommend", "genres": ["Children", "Comedy"], "not_genres": ["Animation"]}]),
    ("is #5 just for kids or would grown-ups like it", [{"act": "question", "ref": {"position": 5}, "about": "genre"}]),
    ("how does heat qualify as uplifting", [{"act": "explain", "ref": {"title": "heat"}}]),
    ("sci-fi please, but not arrival, seen it", [{"act": "recommend", "genres": ["Sci-Fi"], "not_titles": ["arrival"]}]),
    ("zombies please. no pixar though, we've seen them all", [{"act": "recommend", "tags": ["zombie"], "not_tags": ["pixar"]}]),
    ("war films, nothing saving private ryan or band of brothers", [
        {"act": "recommend", "genres": ["War"], "not_titles": ["saving private ryan", "band of brothers"]}]),
    ("no marvel garbage, something with a strong female lead", [
        {"act": "recommend", "tags": ["strong female lead"], "not_tags": ["superhero"]}]),
    ("more like casino minus the crime", [{"act": "more_like", "ref": {"title": "casino"}, "not_genres": ["Crime"]}]),
    ("westerns from like 1950 to 1965", [{"act": "recommend", "genres": ["Western"], "era": {"start": 1950, "end": 1965}}]),
    ("something mindless and funny, long day", [{"act": "recommend", "genres": ["Comedy"], "mood": "lighter"}]),
    ("seen heat twice. what else is in that vein?", [{"act": "feedback", "signal": "seen", "refs": [{"title": "heat"}]},
                                                    {"act": "more_like", "ref": {"anaphor": True}}]),
    ("anything in the same style as jumanji?", [{"act": "more_like", "ref": {"title": "jumanji"}}]),
    ("stuff like the toy one", [{"act": "more_like", "ref": {"title": "toy"}}]),
    ("seen casino. other crime with a heist?", [{"act": "feedback", "signal": "seen", "refs": [{"title": "casino"}]},
                                               {"act": "recommend", "genres": ["Crime"], "tags": ["heist"]}]),
    ("a detective story about friendship", [{"act": "recommend", "tags": ["detective", "friendship"]}]),
    ("can you deliver food", [{"act": "unclear"}]),
    # what blind17 taught (read after its first score): what an undo takes back named first, a question in the next sentence
    ("2 isnt really my cup of tea", [{"act": "feedback", "signal": "dislike", "refs": [{"position": 2}]}]),
    ("ooh jumanji! loved that game", [{"act": "feedback", "signal": "like", "refs": [{"title": "jumanji"}]}]),
    ("why is casino on here? who even directed it", [{"act": "explain", "ref": {"title": "casino"}},
                                                     {"act": "question", "ref": {"anaphor": True}, "about": "cast"}]),
    ("are there any sequels to heat?", [{"act": "question", "ref": {"title": "heat"}, "about": "other"}]),
    ("seen casino and heat, what about older gangster stuff", [
        {"act": "feedback", "signal": "seen", "refs": [{"title": "casino"}, {"title": "heat"}]},
        {"act": "recommend", "tags": ["mafia"], "era": {"end": 1979}}]),
    ("same sort of stuff as the horror but funnier", [{"act": "more_like", "ref": {"describe": "horror"},
                                                      "genres": ["Comedy"]}]),
    ("more like the western", [{"act": "more_like", "ref": {"describe": "western"}}]),
    ("something a bit more lighthearted please", [{"act": "recommend", "mood": "lighter"}]),
    ("zombies, but not the scary kind", [{"act": "recommend", "tags": ["zombie"], "mood": "lighter"}]),
    ("a good cry please, nothing released after 1960", [{"act": "recommend", "genres": ["Drama"], "era": {"end": 1960}}]),
    ("a cartoon my parents won't hate, after 2005", [{"act": "recommend", "genres": ["Animation"], "era": {"start": 2006}}]),
    ("kids film with a dog. not marley & me", [{"act": "recommend", "genres": ["Children"], "tags": ["dog"],
                                               "not_titles": ["marley & me"]}]),
    ("no more zombies ok? something lighter", [{"act": "recommend", "not_tags": ["zombie"], "mood": "lighter"}]),
    ("never mind the no-horror thing, and make it funny", [{"act": "undo", "what": {"not_genres": ["Horror"]}},
                                                           {"act": "recommend", "genres": ["Comedy"]}]),
    ("the decade thing, drop it", [{"act": "undo", "what": {"era": True}}]),
    ("seen them all. start over, westerns this time", [
        {"act": "feedback", "signal": "seen", "refs": [{"position": n} for n in range(1, 6)]},
        {"act": "reset"}, {"act": "recommend", "genres": ["Western"]}]),
    ("can you reserve us a table for four", [{"act": "unclear"}]),
    # what blind18 taught (read after its first score): topics people leave out, another's taste, "both", a title then
    # its question
    ("horror, but no slashers please", [{"act": "recommend", "genres": ["Horror"], "not_tags": ["slasher"]}]),
    ("a mystery please, we don't have much patience for violence", [{"act": "recommend", "genres": ["Mystery"],
                                                                     "not_tags": ["violence"]}]),
    ("a british comedy, nothing raunchy", [{"act": "recommend", "genres": ["Comedy"], "tags": ["british"],
                                            "not_tags": ["raunchy"]}]),
    ("raunchy stuff is fine now", [{"act": "undo", "what": {"not_tags": ["raunchy"]}}]),
    ("something for halloween without guns", [{"act": "recommend", "tags": ["halloween"], "not_tags": ["gun"]}]),
    ("halloween party tonight, something creepy", [{"act": "recommend", "mood": "scary"}]),
    ("nothing in black and white please", [{"act": "recommend", "not_tags": ["black and white"]}]),
    ("forget the anime thing", [{"act": "undo", "what": {"tags": ["anime"]}}]),
    ("vampire stuff but no dracula", [{"act": "recommend", "tags": ["vampire"], "not_titles": ["dracula"]}]),
    ("crime movies without casino", [{"act": "recommend", "genres": ["Crime"], "not_titles": ["casino"]}]),
    ("comedies without bad language", [{"act": "recommend", "genres": ["Comedy"]}]),
    ("funny but not corny", [{"act": "recommend", "genres": ["Comedy"]}]),
    ("seen 2. casino who directed it", [{"act": "feedback", "signal": "seen", "refs": [{"position": 2}]},
                                        {"act": "question", "ref": {"title": "casino"}, "about": "cast"}]),
    ("I loved Balto with my daughter, anything similar?", [{"act": "feedback", "signal": "like", "refs": [{"title": "balto"}]},
                                                           {"act": "more_like", "ref": {"anaphor": True}}]),
    ("already seen heat, several times", [{"act": "feedback", "signal": "seen", "refs": [{"title": "heat"}]}]),
    ("why do you think id like casino", [{"act": "explain", "ref": {"title": "casino"}}]),
    ("seen 2 and 4. why was 3 picked", [{"act": "feedback", "signal": "seen", "refs": [{"position": 2}, {"position": 4}]},
                                        {"act": "explain", "ref": {"position": 3}}]),
    ("my son adores balto", [{"act": "feedback", "signal": "like", "refs": [{"title": "balto"}]}]),
    ("my son loves dinosaurs", [{"act": "recommend", "genres": ["Children"], "tags": ["dinosaur"]}]),
    ("watched 1 and 3, liked them both", [{"act": "feedback", "signal": "seen", "refs": [{"position": 1}, {"position": 3}]},
                                          {"act": "feedback", "signal": "like", "refs": [{"position": 1}, {"position": 3}]}]),
    ("older stuff, like the 50s", [{"act": "recommend", "era": {"start": 1950, "end": 1959}}]),
    ("number 4 sounds interesting tell me about it", [{"act": "feedback", "signal": "like", "refs": [{"position": 4}]},
                                                      {"act": "question", "ref": {"anaphor": True}, "about": "plot"}]),
    ("why'd you pick the one about the dog", [{"act": "explain", "ref": {"describe": "dog"}}]),
])
def test_the_hard_cases_read_as_people_mean_them(text, expected):
    got = acts(text)
    for g in got:
        g.pop("query", None)
    assert got == expected


def test_a_list_place_is_never_a_year_and_a_title_on_screen_is_found_misspelled():
    assert read_turn("why #1", GENRES, SHOWN)[0].era is None
    assert [a.act for a in read_turn("something from 1995", GENRES, SHOWN)] == ["recommend"]
    assert read_turn("loved toy stroy", GENRES, SHOWN)[0].refs == [Ref(title="toy stroy")]
    # a title's own words are neither a place nor a verdict: "The Sixth Sense", "Love Actually"
    shown = ["Sixth Sense, The (1999)", "Love Actually (2003)", "Heat (1995)", "Up (2009)", "Her (2013)"]
    assert read_turn("why the sixth sense", GENRES, shown)[0].ref == Ref(title="the sixth sense")
    said = read_turn("love actually is a no from me", GENRES, shown)
    assert [(a.signal, a.refs) for a in said] == [("dislike", [Ref(title="love actually")])]
    assert read_turn("I really enjoyed Up", GENRES, shown)[0].refs == [Ref(title="up")]
    # a bare number past the list's end is a title's ("why 28 days later"); "the 12th one" is said to be none
    shown = ["Heat (1995)", "28 Days Later (2002)", "Up (2009)", "Her (2013)", "Zodiac (2007)"]
    assert read_turn("why 28 days later??", GENRES, shown)[0].ref == Ref(title="28 days later")
    assert read_turn("the 12th one", GENRES, shown)[0].ref == Ref(position=12)
    # a possessive title is kept as typed ("ocean's eleven"), a possessive said of a title is not ("heat's")
    shown = ["Heat (1995)", "Ocean's Eleven (2001)", "Up (2009)", "Her (2013)", "Zodiac (2007)"]
    assert read_turn("ooh ocean's eleven 👍", GENRES, shown)[0].refs == [Ref(title="ocean's eleven")]
    assert read_turn("heat's an odd pick, why", GENRES, shown)[0].ref == Ref(title="heat")
    # a title's number typed as digits ("oceans 11"), its '&' as 'and'; "the X pick" keeps only a title's own 'the'
    shown = ["Ocean's Eleven (2001)", "Marley & Me (2008)", "Beethoven (1992)", "Hurt Locker, The (2008)", "Dunkirk (2017)"]
    assert read_turn("already seen oceans 11", GENRES, shown)[0].refs == [Ref(title="oceans 11")]
    assert read_turn("seen marley and me and beethoven", GENRES, shown)[0].refs == [Ref(title="marley and me"),
                                                                                   Ref(title="beethoven")]
    assert read_turn("explain the dunkirk pick", GENRES, shown)[0].ref == Ref(title="dunkirk")
    assert read_turn("explain the hurt locker pick", GENRES, shown)[0].ref == Ref(title="the hurt locker")
    # a title in quotes is the title ("I have seen 'Ocean's Eleven' twice")
    assert read_turn("I have seen 'Ocean's Eleven' twice.", GENRES, shown)[0].refs == [Ref(title="ocean's eleven")]
    assert read_turn("Why was 'Dunkirk' included?", GENRES, shown)[0].ref == Ref(title="dunkirk")
    # "remove the filters" starts over; "remove all the ..." is no reset
    assert "reset" not in [a.act for a in read_turn("remove all the horror ones", GENRES, shown)]
    # a misspelt name keeps each word's first letter: "the mononoke one" is no "Mononoke-hime", "the grand budapest
    # one" no "Grand Budapest Hotel"
    shown = ["Grand Budapest Hotel, The (2014)", "Princess Mononoke (Mononoke-hime) (1997)", "Heat (1995)", "Up (2009)",
             "Her (2013)"]
    assert read_turn("is the mononoke one ok for a 6 year old", GENRES, shown)[0].ref == Ref(title="mononoke")
    assert read_turn("loved the grand budapest one", GENRES, shown)[0].refs == [Ref(title="grand budapest")]


def test_the_blind_batches_are_read_as_their_figures_say():
    """turns-blind5.jsonl to -blind19 were scored once before anyone read them (docs/guide.md): a floor
    under those figures, so a change that reads new phrasings worse fails."""
    for split, act_floor, slot_floor in (("blind5", 0.94, 0.92), ("blind6", 0.92, 0.92), ("blind7", 0.84, 0.87),
                                             ("blind8", 0.88, 0.89), ("blind9", 0.85, 0.83),
                                             ("blind10", 0.86, 0.81),
                                             ("blind11", 0.80, 0.85),
                                             ("blind12", 0.93, 0.94), ("blind13", 0.93, 0.94),
                                             ("blind14", 0.82, 0.85), ("blind15", 0.86, 0.88),
                                             ("blind16", 0.88, 0.89), ("blind17", 0.92, 0.93),
                                             ("blind18", 0.94, 0.90), ("blind19", 0.89, 0.87)):
        result = score(load(split=split), rules_reader)
        assert result["act_accuracy"] >= act_floor and result["slot_f1"] >= slot_floor, (split, result["act_accuracy"],
                                                                                        result["slot_f1"])


def test_the_labelled_corpus_is_read_well_enough_by_the_rules():
    """The held-out half of the corpus (tests/data/chat/turns.jsonl), never read while writing the
    rules: a floor under the figures in docs/guide.md, so a change that reads people worse fails."""
    assert len(load()) >= 400
    result = score(load(split="heldout"), rules_reader)
    assert result["act_accuracy"] >= 0.85 and result["slot_f1"] >= 0.85, (result["act_accuracy"], result["slot_f1"])


def test_why_answers_from_the_data_and_keeps_the_list_and_seen_items_never_return(make_agent):
    agent = make_agent()
    session = agent.start("user-18")
    first = agent.chat(session, "something funny")
    listed = [i.item_id for i in first.items]
    why = agent.chat(session, "why did you pick #1?")
    assert why.items == [] and agent.sessions.get(session).last_list == listed  # the list stays
    assert why.reply.startswith(f"Why #1, {first.items[0].title}: ") and first.items[0].explanation in why.reply
    assert agent.sessions.get(session).constraints == first.constraints  # no year, no query from "#1"
    gone = agent.chat(session, "I already saw that one, something else")
    assert f"you have seen {first.items[0].title}" in gone.reply and gone.items
    later = [agent.chat(session, text) for text in ("comedies", "something from the 90s", "start over", "something funny")]
    assert all(listed[0] not in [i.item_id for i in turn.items] for turn in [gone, *later])


def test_that_one_without_a_subject_asks_back_and_invents_nothing(make_agent):
    agent = make_agent()
    session = agent.start("user-18")
    agent.chat(session, "something funny")
    reply = agent.chat(session, "I already saw that one")
    assert "Which one do you mean?" in reply.reply and reply.feedback == [] and reply.items == []


def test_an_excluded_topic_leaves_the_list_and_the_reasons(make_agent):
    agent = make_agent()
    store = agent.recommender.store
    heroes = [it.model_copy(update={"tags": ["superhero", "comic book"]}) for it in store.all_items()[:60]]
    store.upsert_items(heroes)
    liked = heroes[0]
    agent.recommender.feedback("user-18", liked.item_id, "like")
    session = agent.start("user-18")
    reply = agent.chat(session, "something lighter, no superheroes")
    hero_ids = {it.item_id for it in heroes}
    assert reply.items and not hero_ids & {i.item_id for i in reply.items}
    assert "without" in reply.reply and "superhero" in reply.reply
    for item in reply.items:  # no liked superhero film is given as the reason for a pick
        assert all(b.item_id not in hero_ids for b in item.evidence.because), item.evidence.because
        assert liked.title not in item.explanation
    # "lighter" is applied as the genres it favours and avoids (the acts' filter once dropped them)
    assert "Comedy" in reply.constraints.include_categories and "War" in reply.constraints.exclude_categories
    assert "superhero" not in reply.constraints.query  # nor searched for
    why = agent.chat(session, "why #1")  # ... and "why" names no excluded film either
    assert why.reply.startswith("Why #1") and liked.title not in why.reply


def test_a_question_about_an_item_answers_from_the_catalog(make_agent):
    agent = make_agent()
    session = agent.start("user-18")
    first = agent.chat(session, "something funny")
    answer = agent.chat(session, "is the second one animated?")
    second = agent.recommender.item(first.items[1].item_id)
    assert answer.items == [] and second.title in answer.reply and ", ".join(second.categories) in answer.reply


@pytest.mark.parametrize("use_llm", [False, True], ids=["rules", "rules+fake-model"])
def test_ten_scripted_dialogues_hold_every_check(make_agent, use_llm):
    """Constraints hold for every item, a why names its item, seen items never return, no excluded
    item is a reason: after every turn of ten dialogues (all of them: `recagent eval chat-dialogues`)."""
    from agent.backends.fake import ScriptedFakeBackend, answer_schema
    from evals.chat_dialogues import load as dialogues, run

    agent = make_agent(backend=ScriptedFakeBackend([answer_schema], repeat_last=True) if use_llm else None,
                       use_llm=use_llm)
    result = run(agent, dialogues()[:10])
    assert result["dialogues"] == 10 and result["turns"] >= 40
    assert result["passed"] == 10, [(r["id"], r["failures"]) for r in result["rows"] if r["failures"]]


def test_a_filter_the_catalog_cannot_apply_is_said_plainly(make_agent):
    agent = make_agent()
    session = agent.start("user-18")
    reply = agent.chat(session, "a comedy from A24 under 90 minutes")
    assert "I can't filter by studio or length" in reply.reply and reply.items


def test_the_model_reads_what_the_rules_cannot_and_may_add_nothing_the_message_lacks(make_agent):
    import json

    from agent.backends.fake import ScriptedFakeBackend

    def reading(request):
        if request.schema_name != "acts":
            from agent.backends.fake import answer_schema
            return answer_schema(request)
        message = request.messages[-1]["content"]
        if "💥" in message:  # nothing the rules can place; an invented title is dropped
            return json.dumps({"acts": [{"act": "recommend", "genres": ["Action"]},
                                        {"act": "more_like", "ref": {"title": "Die Hard"}}]})
        return json.dumps({"acts": [{"act": "explain", "ref": {"position": 9}}]})  # no #9 on screen

    fake = ScriptedFakeBackend([reading], repeat_last=True)
    agent = make_agent(backend=fake, use_llm=True)
    session = agent.start("user-18")
    asked = agent.chat(session, "💥💥💥 🍿")  # the bundled model's profile: it read the corpus worse than asking back
    assert "did not understand" in asked.reply and not any(r.schema_name == "acts" for r in fake.requests)
    agent.options = agent.options.model_copy(update={"explain_mode": "open"})  # a capable endpoint's profile
    reply = agent.chat(session, "💥💥💥 🍿")
    assert reply.intent_source == "llm+rules" and reply.items
    assert "Action" in reply.constraints.include_categories and reply.constraints.more_like == []
    assert any(r.schema_name == "acts" for r in fake.requests)
    vague = agent.chat(session, "hmm")
    assert "did not understand" in vague.reply and vague.items == []


def test_a_negated_mood_is_its_opposite(make_agent):
    agent = make_agent()
    session = agent.start("user-18")
    reply = agent.chat(session, "a thriller that's not too dark")
    assert "Children" not in reply.constraints.exclude_categories and "Thriller" in reply.constraints.include_categories
    assert "Horror" in reply.constraints.exclude_categories  # lighter: no horror, war or crime


def test_a_new_mood_replaces_the_last_and_the_persons_own_word_stands(make_agent):
    agent = make_agent()
    session = agent.start("user-18")
    c = agent.chat(session, "something lighter, no horror").constraints
    assert "Comedy" in c.include_categories and {"Horror", "War"} <= set(c.exclude_categories)
    c = agent.chat(session, "scare me").constraints  # lighter's genres go; the person's "no horror" stays
    assert "Comedy" not in c.include_categories and "Horror" in c.exclude_categories and "War" not in c.exclude_categories
    assert "Thriller" in c.include_categories and c.mood == "scary"
    c = agent.chat(session, "forget the mood").constraints
    assert c.include_categories == [] and c.exclude_categories == ["Horror"] and c.mood is None


def test_an_undo_does_what_it_says(make_agent):
    agent = make_agent()
    session = agent.start("user-18")
    agent.chat(session, "no horror, something from the 90s")
    back = agent.chat(session, "horror is fine again")
    assert "Horror" not in back.constraints.exclude_categories and back.constraints.era is not None
    era = agent.chat(session, "forget the 90s")
    assert era.constraints.era is None and "Taken back." in era.reply
    mood = agent.chat(session, "forget the mood")  # none was asked for: said so, nothing else changes
    assert "No mood is in force" in mood.reply and mood.constraints.era is None


def test_the_acts_say_which_genres_were_asked_not_the_words_of_a_title(make_agent):
    # seen on the screen: "anything but star wars" asked for War and "like Solo: A Star Wars Story";
    # "comedy instead of romance" kept Romance (the older reader took every genre word it saw)
    agent = make_agent()
    session = agent.start("user-18")
    agent.chat(session, "something")
    reply = agent.chat(session, "anything but star wars, something funnier")
    assert reply.constraints.include_categories == ["Comedy"] and not reply.constraints.more_like
    reply = agent.chat(session, "comedy instead of romance")
    assert "Romance" not in reply.constraints.include_categories
