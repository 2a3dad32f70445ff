"""Recommendation tasks, ranking and multi-round sessions."""

from ._ranking import RankingWeights
from ._recommender import Recommender
from ._reply import OpenAIChatReply, ReplyBackend
from ._session import Round, Session, SessionReply
from ._visual import SessionImage

__all__ = [
    "OpenAIChatReply",
    "RankingWeights",
    "Recommender",
    "ReplyBackend",
    "Round",
    "Session",
    "SessionImage",
    "SessionReply",
]
