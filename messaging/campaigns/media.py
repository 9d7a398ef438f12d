"""Uploaded campaign media: checked with Pillow, stored in our storage, served to LINE over our public URL."""

from __future__ import annotations

import io

from django.core.files.base import ContentFile
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _
from PIL import Image, ImageDraw, UnidentifiedImageError

from . import conf
from .models import MediaAsset, MediaKind
from .validation import CampaignInvalid

IMAGE_MAX = 10_000_000
PREVIEW_MAX = 1_000_000
MEDIA_MAX = 200_000_000
PREVIEW_SIZE = (480, 480)


def public_url(name: str) -> str:
    return conf.media_base_url() + reverse("campaign-media-file", kwargs={"name": name})


def _preview_from(image: Image.Image) -> bytes:
    thumb = image.convert("RGB")
    thumb.thumbnail(PREVIEW_SIZE)
    out = io.BytesIO()
    thumb.save(out, "JPEG", quality=82)
    return out.getvalue()


def _video_poster() -> bytes:
    """Without a video decoder we draw a neutral poster (16:9) with a play symbol."""
    img = Image.new("RGB", (640, 360), (38, 38, 38))
    ImageDraw.Draw(img).polygon([(280, 130), (280, 230), (370, 180)], fill=(255, 255, 255))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=80)
    return out.getvalue()


def _check_image(upload, *, max_size: int) -> Image.Image:
    if upload.size > max_size:
        raise CampaignInvalid(
            {
                "file": [
                    _("The file is %(size)s bytes; at most %(max)s bytes are allowed.")
                    % {"size": upload.size, "max": max_size}
                ]
            }
        )
    try:
        image = Image.open(upload)
        image.verify()
        upload.seek(0)
        image = Image.open(upload)
        image.load()
    except (UnidentifiedImageError, OSError, SyntaxError):
        raise CampaignInvalid({"file": [_("This file is not an image LINE can show (JPEG or PNG).")]})
    if image.format not in ("JPEG", "PNG"):
        raise CampaignInvalid(
            {"file": [_("LINE accepts JPEG or PNG images only (this is %(format)s).") % {"format": image.format}]}
        )
    upload.seek(0)
    return image


def _check_signature(upload, kind: str) -> None:
    head = upload.read(16)
    upload.seek(0)
    if upload.size > MEDIA_MAX:
        raise CampaignInvalid({"file": [_("The file is larger than 200 MB.")]})
    if kind == MediaKind.VIDEO and head[4:8] != b"ftyp":
        raise CampaignInvalid({"file": [_("This file is not an MP4 video.")]})
    if kind == MediaKind.AUDIO and not (head[4:8] == b"ftyp" or head[:3] == b"ID3" or head[:2] == b"\xff\xfb"):
        raise CampaignInvalid({"file": [_("This file is not an MP3 or M4A audio file.")]})


@transaction.atomic
def media_upload(*, channel, actor, kind: str, upload) -> dict:
    """Store the file and answer the URLs to put in the message (originalContentUrl, previewImageUrl)."""
    asset = MediaAsset(
        channel=channel,
        kind=kind if kind != "preview" else MediaKind.IMAGE,
        created_by=actor,
        original_name=upload.name[:200],
        content_type=getattr(upload, "content_type", "") or "",
        size=upload.size,
    )
    if kind in (MediaKind.IMAGE, "preview"):
        image = _check_image(upload, max_size=PREVIEW_MAX if kind == "preview" else IMAGE_MAX)
        asset.width, asset.height = image.size
        asset.file.save(upload.name, upload, save=False)
        asset.preview.save("preview.jpg", ContentFile(_preview_from(image)), save=False)
    else:
        _check_signature(upload, kind)
        asset.file.save(upload.name, upload, save=False)
        if kind == MediaKind.VIDEO:
            asset.preview.save("poster.jpg", ContentFile(_video_poster()), save=False)
    asset.save()
    out = {"id": asset.pk, "originalContentUrl": public_url(asset.file.name)}
    if asset.preview:
        out["previewImageUrl"] = public_url(asset.preview.name)
    return out
