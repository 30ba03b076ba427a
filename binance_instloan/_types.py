"""Small shared types."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Final, Literal, TypeAlias


class NotGiven(enum.Enum):
    """Marks an argument that was not passed, where ``None`` already means something."""

    NOT_GIVEN = "NOT_GIVEN"

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __bool__(self) -> Literal[False]:
        return False


NOT_GIVEN: Final = NotGiven.NOT_GIVEN

#: A point in time: a timezone-aware ``datetime`` or UNIX milliseconds.
TimeLike: TypeAlias = datetime | int
#: An amount: ``Decimal``, ``int`` or a decimal string. ``float`` is refused on purpose.
AmountLike: TypeAlias = Decimal | int | str
