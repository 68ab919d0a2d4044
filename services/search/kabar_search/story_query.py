"""A request for a list of stories (``GET /stories``), whichever backend answers it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Final, Literal

from kabar_search.request import Filters

StorySort = Literal["recent", "growth"]
MAX_STORY_PAGE: Final = 100
MAX_STORY_OFFSET: Final = 1000
TOP_OUTLETS: Final = 10
TOP_ENTITIES: Final = 10


@dataclass(frozen=True, slots=True)
class StoryQuery:
    """Stories with at least one article matching ``filters``.

    ``recent``: the story whose latest matching article is newest comes first. ``growth``: the
    story with the most matching articles dated from ``growth_since_ms`` (to the filters' end,
    if any) comes first; stories with none there are left out.
    """

    filters: Filters = field(default_factory=Filters)
    sort: StorySort = "recent"
    growth_since_ms: int | None = None
    limit: int = 20
    offset: int = 0

    def ranking_filters(self) -> Filters:
        """The filters the ranking counts articles under: with ``growth``, only the window's articles."""
        if self.sort != "growth" or self.growth_since_ms is None:
            return self.filters
        return replace(self.filters, since_ms=max(self.filters.since_ms or self.growth_since_ms, self.growth_since_ms))
