"""Cursor pagination shared by every list answer."""

from __future__ import annotations

import base64
import binascii

from pydantic import BaseModel, Field

from cs_mcp.domain.errors import InvalidArgument


class Page(BaseModel):
    total: int = Field(description="rows matching the request")
    returned: int = Field(description="rows in this answer")
    next_cursor: str | None = Field(None, description="pass as `cursor` for the next page; null on the last")


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode()


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        if not text.startswith("o:"):
            raise ValueError(text)
        offset = int(text[2:])
        if offset < 0:
            raise ValueError(text)
        return offset
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidArgument(
            f"cursor '{cursor}' is not one this server issued: send the next_cursor of the previous "
            "answer, or omit cursor for the first page."
        ) from exc
