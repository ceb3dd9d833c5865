"""The typed reading of a message: acts (`TurnAct`) and the references to items in them (`Ref`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from agent.intent import Era
from agent.types import Signal

ActName = Literal["recommend", "more_like", "explain", "question", "feedback", "undo", "reset", "unclear"]


About = Literal["year", "genre", "plot", "cast", "length", "rating", "other"]


class Ref(BaseModel):
    """Which item a message means; at most one field is set."""

    position: int | None = Field(None, description="1-based place in the list on screen; -1 = the last")
    anaphor: bool = Field(False, description="'that one', 'it': the item last talked about")
    title: str | None = Field(None, description="a title as the person wrote it")
    describe: str | None = Field(None, description="a word that tells the item apart ('pixar', 'animated')")


class TurnAct(BaseModel):
    act: ActName
    genres: list[str] = Field(default_factory=list)
    not_genres: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    not_tags: list[str] = Field(default_factory=list)
    not_titles: list[str] = Field(default_factory=list)
    era: Era | None = None
    mood: str | None = None
    ref: Ref | None = None
    refs: list[Ref] = Field(default_factory=list)
    signal: Signal | None = None
    about: About | None = None
    what: dict | None = Field(None, description="undo: the constraint taken back")
    query: str = Field("", description="free text left for semantic search")


class _Request(TurnAct):
    def has_constraints(self) -> bool:
        return bool(self.genres or self.not_genres or self.tags or self.not_tags or self.not_titles or self.era
                    or self.mood)
