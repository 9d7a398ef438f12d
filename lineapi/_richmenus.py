"""Rich menu endpoints of LineClient: menus, images, default, per-user links, aliases."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ._base import BaseClient, seg
from .results import Content

RICH_MENU_IMAGE_TYPES = ("image/jpeg", "image/png")


class RichMenuCalls(BaseClient):
    def create_rich_menu(self, menu: Mapping[str, Any]) -> str:
        """Create a menu (without its image) and return its ``richMenuId``. 100 per hour."""
        return str(self._post("/v2/bot/richmenu", menu)["richMenuId"])

    def validate_rich_menu(self, menu: Mapping[str, Any]) -> None:
        """Raises LineAPIError (400, with details) if LINE would reject ``menu``."""
        self._post("/v2/bot/richmenu/validate", menu)

    def get_rich_menu(self, rich_menu_id: str) -> dict[str, Any]:
        return dict(self._get(f"/v2/bot/richmenu/{seg(rich_menu_id)}"))

    def list_rich_menus(self) -> list[dict[str, Any]]:
        return list(self._get("/v2/bot/richmenu/list").get("richmenus", []))

    def delete_rich_menu(self, rich_menu_id: str) -> None:
        self._json("DELETE", f"/v2/bot/richmenu/{seg(rich_menu_id)}")

    def upload_rich_menu_image(self, rich_menu_id: str, data: bytes, content_type: str) -> None:
        """Attach the image (JPEG or PNG, at most 1 MB) to a menu; once only per menu.

        Check it first with :func:`lineapi.limits.check_rich_menu_image`.
        """
        if content_type not in RICH_MENU_IMAGE_TYPES:
            raise ValueError(f"content_type must be one of {RICH_MENU_IMAGE_TYPES}")
        self._call(
            "POST",
            f"/v2/bot/richmenu/{seg(rich_menu_id)}/content",
            data_host=True,
            raw=bytes(data),
            content_type=content_type,
        ).close()

    def download_rich_menu_image(self, rich_menu_id: str) -> Content:
        return self._download(f"/v2/bot/richmenu/{seg(rich_menu_id)}/content")

    # -- default menu ------------------------------------------------------------

    def set_default_rich_menu(self, rich_menu_id: str) -> None:
        self._post(f"/v2/bot/user/all/richmenu/{seg(rich_menu_id)}")

    def get_default_rich_menu_id(self) -> str | None:
        """The API default menu, or None when none is set (LINE answers 404)."""
        return self._get_or_none("/v2/bot/user/all/richmenu", "richMenuId")

    def clear_default_rich_menu(self) -> None:
        self._json("DELETE", "/v2/bot/user/all/richmenu")

    # -- per-user menus ------------------------------------------------------------

    def link_rich_menu_to_user(self, user_id: str, rich_menu_id: str) -> None:
        self._post(f"/v2/bot/user/{seg(user_id)}/richmenu/{seg(rich_menu_id)}")

    def unlink_rich_menu_from_user(self, user_id: str) -> None:
        self._json("DELETE", f"/v2/bot/user/{seg(user_id)}/richmenu")

    def get_user_rich_menu_id(self, user_id: str) -> str | None:
        """The menu linked to one user, or None when none is (LINE answers 404)."""
        return self._get_or_none(f"/v2/bot/user/{seg(user_id)}/richmenu", "richMenuId")

    def bulk_link_rich_menu(self, rich_menu_id: str, user_ids: Sequence[str]) -> None:
        """Link a menu to 1..500 users; asynchronous (202), check with a get."""
        body = {"richMenuId": rich_menu_id, "userIds": list(user_ids)}
        self._post("/v2/bot/richmenu/bulk/link", body, ok=(200, 202))

    def bulk_unlink_rich_menu(self, user_ids: Sequence[str]) -> None:
        self._post("/v2/bot/richmenu/bulk/unlink", {"userIds": list(user_ids)}, ok=(200, 202))

    def rich_menu_batch(
        self,
        operations: Sequence[Mapping[str, Any]],
        *,
        resume_request_key: str | None = None,
    ) -> str | None:
        """Replace or unlink menus for all their users (3 per hour); returns the request ID."""
        body: dict[str, Any] = {"operations": list(operations)}
        if resume_request_key:
            body["resumeRequestKey"] = resume_request_key
        response = self._call("POST", "/v2/bot/richmenu/batch", body=body, ok=(200, 202))
        response.close()
        return response.headers.get("x-line-request-id")

    def rich_menu_batch_progress(self, request_id: str) -> dict[str, Any]:
        return dict(self._get("/v2/bot/richmenu/progress/batch", {"requestId": request_id}))

    # -- aliases --------------------------------------------------------------------

    def create_rich_menu_alias(self, alias_id: str, rich_menu_id: str) -> None:
        body = {"richMenuAliasId": alias_id, "richMenuId": rich_menu_id}
        self._post("/v2/bot/richmenu/alias", body)

    def update_rich_menu_alias(self, alias_id: str, rich_menu_id: str) -> None:
        self._post(f"/v2/bot/richmenu/alias/{seg(alias_id)}", {"richMenuId": rich_menu_id})

    def get_rich_menu_alias(self, alias_id: str) -> dict[str, Any]:
        return dict(self._get(f"/v2/bot/richmenu/alias/{seg(alias_id)}"))

    def delete_rich_menu_alias(self, alias_id: str) -> None:
        self._json("DELETE", f"/v2/bot/richmenu/alias/{seg(alias_id)}")

    def list_rich_menu_aliases(self) -> list[dict[str, Any]]:
        return list(self._get("/v2/bot/richmenu/alias/list").get("aliases", []))
