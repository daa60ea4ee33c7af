"""The Qt-free heart of the app: the exploration state, the session with its undo history, the render service."""

from bigart.explore.service import RenderService
from bigart.explore.session import HistoryEntry, Session
from bigart.explore.state import DirectionSlot, ExploreState, latent_array

__all__ = ["DirectionSlot", "ExploreState", "HistoryEntry", "RenderService", "Session", "latent_array"]
