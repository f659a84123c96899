"""The memory budget applied: each cache of the window kept to its share
(``model.compute.memory_budget``), now and whenever the budget changes. The canvas's own tile
caches follow it in ``seggui.canvas.following``."""

from __future__ import annotations

from PySide6.QtCore import QSettings

from model.compute.memory_budget import MemoryBudget
from seggui.controllers.image_session import ImageSession
from seggui.controllers.mask_store import MaskStore
from seggui.controllers.predictions import PredictionService
from seggui.controllers.slide_tiles import SlideTiles
from seggui.state.app_state import AppState

SETTING = "memory/budget_mb"
"""The budget in MB, 0 for the default of the machine the window runs on."""
DISPLAY_TILES_SHARE = 0.5
"""Of the "slide display" share, the slide's own coloured tiles; its mask's and its prediction's
tiles have a quarter each (``seggui.canvas.following``)."""


def _setting_mb(settings: QSettings) -> int:
    """The setting in MB; 0 (the default) where there is none or it is not a number."""
    try:
        return max(int(settings.value(SETTING, 0)), 0)
    except (TypeError, ValueError):
        return 0


def uses_default(settings: QSettings) -> bool:
    """Whether the settings leave the budget to the machine's default."""
    return _setting_mb(settings) == 0


def saved_budget(settings: QSettings) -> MemoryBudget:
    """The budget the settings hold (the machine's default if none)."""
    return MemoryBudget.from_setting(_setting_mb(settings))


def follow_budget(
    app: AppState,
    settings: QSettings,
    session: ImageSession,
    store: MaskStore,
    service: PredictionService,
    slide_tiles: SlideTiles,
) -> None:
    """Use the budget the settings hold, resize the window's caches to it, and keep them so
    when it changes (``AppState.set_memory_budget``)."""
    app.set_memory_budget(saved_budget(settings))

    def apply(budget: MemoryBudget) -> None:
        slide_tiles.set_budget(int(budget.share("slide display") * DISPLAY_TILES_SHARE))
        service.set_cache_bytes(budget.share("predictions"))
        session.recent_documents.max_bytes = budget.share("recent masks")
        if app.slide is not None:  # a slide opened later gets its share when it is read
            app.slide.reader.cache.set_max_bytes(budget.share("slide tiles"))
        for mask in store.slide_masks().values():
            mask.set_clean_bytes(budget.share("slide masks"))

    app.memory_budget_changed.connect(apply)
    apply(app.memory_budget)
