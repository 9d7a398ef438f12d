"""Rich menus through the official SDK: create, upload an image, link, alias."""

import io
import json

import pytest
from linebot.v3.messaging import (
    ApiException,
    CreateRichMenuAliasRequest,
    PostbackAction,
    RichMenuArea,
    RichMenuBounds,
    RichMenuBulkLinkRequest,
    RichMenuRequest,
    RichMenuSize,
)
from PIL import Image

WIDTH, HEIGHT = 2500, 1686


def png(width=WIDTH, height=HEIGHT) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (6, 199, 85)).save(buffer, format="PNG")
    return buffer.getvalue()


def menu_request() -> RichMenuRequest:
    half = WIDTH // 2
    return RichMenuRequest(
        size=RichMenuSize(width=WIDTH, height=HEIGHT),
        selected=True,
        name="Main",
        chat_bar_text="Menu",
        areas=[
            RichMenuArea(
                bounds=RichMenuBounds(x=0, y=0, width=half, height=HEIGHT),
                action=PostbackAction(label="Shop", data="action=shop"),
            ),
            RichMenuArea(
                bounds=RichMenuBounds(x=half, y=0, width=WIDTH - half, height=HEIGHT),
                action=PostbackAction(label="Link", data="action=link"),
            ),
        ],
    )


@pytest.fixture
def menu_id(api, blob_api):
    menu_id = api.create_rich_menu(menu_request()).rich_menu_id
    blob_api.set_rich_menu_image(menu_id, png(), _headers={"Content-Type": "image/png"})
    return menu_id


def test_a_rich_menu_is_created_with_its_image_and_can_be_read_back(api, blob_api, menu_id):
    assert menu_id.startswith("richmenu-")
    menu = api.get_rich_menu(menu_id)
    assert menu.chat_bar_text == "Menu" and len(menu.areas) == 2
    assert [m.rich_menu_id for m in api.get_rich_menu_list().richmenus] == [menu_id]
    assert bytes(blob_api.get_rich_menu_image(menu_id)) == png()


def test_default_per_user_bulk_and_alias_links(api, user, menu_id):
    api.set_default_rich_menu(menu_id)
    api.link_rich_menu_id_to_user(user["userId"], menu_id)
    api.link_rich_menu_id_to_users(RichMenuBulkLinkRequest(rich_menu_id=menu_id, user_ids=["U" + "3" * 32]))
    api.create_rich_menu_alias(CreateRichMenuAliasRequest(rich_menu_alias_id="main-menu", rich_menu_id=menu_id))

    assert api.get_default_rich_menu_id().rich_menu_id == menu_id
    assert api.get_rich_menu_id_of_user(user["userId"]).rich_menu_id == menu_id
    assert api.get_rich_menu_id_of_user("U" + "3" * 32).rich_menu_id == menu_id
    assert api.get_rich_menu_alias("main-menu").rich_menu_id == menu_id

    api.delete_rich_menu(menu_id)
    with pytest.raises(ApiException) as caught:
        api.get_rich_menu(menu_id)
    assert caught.value.status == 404


def test_image_uploads_are_checked_like_line_does(api, blob_api, menu_id):
    with pytest.raises(ApiException) as second:
        blob_api.set_rich_menu_image(menu_id, png(), _headers={"Content-Type": "image/png"})
    assert second.value.status == 400
    assert json.loads(second.value.body) == {"message": "An image has already been uploaded to the richmenu"}

    fresh = api.create_rich_menu(menu_request()).rich_menu_id
    with pytest.raises(ApiException) as wrong_type:
        blob_api.set_rich_menu_image(fresh, png(), _headers={"Content-Type": "image/gif"})
    with pytest.raises(ApiException) as wrong_size:
        blob_api.set_rich_menu_image(fresh, png(2500, 843), _headers={"Content-Type": "image/png"})
    with pytest.raises(ApiException) as too_big:
        blob_api.set_rich_menu_image(fresh, b"\x89PNG" + b"\0" * (1024 * 1024), _headers={"Content-Type": "image/png"})
    assert (wrong_type.value.status, wrong_size.value.status, too_big.value.status) == (415, 400, 413)
