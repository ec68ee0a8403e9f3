"""Merging and mounting routers (shared/web/routers.py) serves what including them would, and refuses what it
would drop."""

from __future__ import annotations

import pytest
from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException
from fastapi.testclient import TestClient

from shared.web.routers import merged, mount


def _needs_key(x_key: str = Header()) -> None:
    if x_key != "k":
        raise HTTPException(403)


def _resources() -> list[APIRouter]:
    books = APIRouter(prefix="/books", tags=["books"], dependencies=[Depends(_needs_key)])

    @books.get("/{book_id}")
    async def book(book_id: int) -> dict[str, int]:
        return {"id": book_id}

    loans = APIRouter()

    @loans.post("/loans", status_code=201)
    async def loan() -> dict[str, str]:
        return {"ok": "yes"}

    return [books, loans]


def test_merged_routes_keep_their_prefix_dependencies_tags_and_status():
    app = FastAPI()
    app.include_router(merged(_resources()), prefix="/api/lib")
    client = TestClient(app)
    assert client.get("/api/lib/books/7", headers={"x-key": "k"}).json() == {"id": 7}
    assert client.get("/api/lib/books/7", headers={"x-key": "no"}).status_code == 403  # the router's dependency
    assert client.post("/api/lib/loans").status_code == 201
    assert app.openapi()["paths"]["/api/lib/books/{book_id}"]["get"]["tags"] == ["books"]


def test_a_router_that_includes_another_or_has_hooks_is_refused():
    outer = APIRouter()
    outer.include_router(_resources()[1])
    with pytest.raises(ValueError, match="include this one"):
        merged([outer])
    hooked = APIRouter(on_startup=[lambda: None])
    with pytest.raises(ValueError):
        merged([hooked])


def _documented(app: FastAPI) -> dict:
    return app.openapi()["paths"]


def test_a_mounted_router_is_served_and_documented_as_an_included_one():
    problem = {"description": "problem", "content": {"application/problem+json": {}}}
    included, mounted = FastAPI(responses={422: problem}), FastAPI(responses={422: problem})
    included.include_router(merged(_resources()), prefix="/api/lib", tags=["library"])
    mount(mounted.router, merged(_resources()), prefix="/api/lib", tags=["library"])
    assert _documented(mounted) == _documented(included)  # paths, tags, operation ids, the app's responses
    assert _documented(mounted)["/api/lib/books/{book_id}"]["get"]["tags"] == ["library", "books"]
    client = TestClient(mounted)
    assert client.get("/api/lib/books/7", headers={"x-key": "k"}).json() == {"id": 7}
    assert client.get("/api/lib/books/7", headers={"x-key": "no"}).status_code == 403
    assert client.post("/api/lib/loans").status_code == 201
    assert not any(type(r).__name__ == "_IncludedRouter" for r in mounted.router.routes)  # no branch to match


def test_mount_refuses_what_it_would_drop():
    outer = APIRouter()
    outer.include_router(_resources()[1])
    with pytest.raises(ValueError, match="include this one"):
        mount(APIRouter(), outer, prefix="/x")
