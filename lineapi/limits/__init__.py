"""LINE's documented limits that its OpenAPI spec does not carry, as field-level errors.

Each ``check_*`` returns a list of :class:`FieldError` (empty when all is well), with
LINE-style paths (``messages[0].template.columns[2].actions[0].label``), a stable
``code`` and ``params``. The English text is ``MESSAGES[code].format(**params)``;
the app translates by code. Plain Python: nothing here imports Django.

Lengths are counted in UTF-16 code units, as LINE counts them. Where LINE states a
size in KB or MB, we read it as 1,000 / 1,000,000 bytes, so that whatever passes
here also passes at LINE.
"""

from ._core import MESSAGES, FieldError, utf16_len
from .flex import json_size
from .messages import check_messages
from .recipients import check_custom_aggregation_unit, check_multicast_recipients
from .richmenu import check_alias_id, check_rich_menu, check_rich_menu_image

__all__ = [
    "MESSAGES",
    "FieldError",
    "check_alias_id",
    "check_custom_aggregation_unit",
    "check_messages",
    "check_multicast_recipients",
    "check_rich_menu",
    "check_rich_menu_image",
    "json_size",
    "utf16_len",
]
