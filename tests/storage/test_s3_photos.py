"""Photos in an S3-compatible store (moto's S3 server on loopback, started here): stored cleaned under
their content hash, served to the holder of a private ticket's signed link by a presigned URL that
expires no later than the link, refused without one; the disk stays empty."""

from __future__ import annotations

import io
import re
import uuid
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import boto3
import httpx
import pytest
from PIL import Image

from services.tickets.adapters.photo_store import PhotoSettings, S3Photos
from services.tickets.adapters.photos import clean
from services.tickets.service_layer.media import PhotosUnavailable, clean_photos
from shared.errors import DomainError
from tests.support.redis_server import free_port
from tests.tickets.helpers import MANHOLE, RESIDENT, jpeg_with_exif, png_bytes

KEYS = {"aws_access_key_id": "linli-test", "aws_secret_access_key": "linli-test-secret"}


@pytest.fixture(scope="module")
def s3_endpoint():
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_endpoint, monkeypatch):
    name = f"linli-{uuid.uuid4().hex[:8]}"
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1", **KEYS)
    client.create_bucket(Bucket=name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEYS["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", KEYS["aws_secret_access_key"])
    for key, value in {"BACKEND": "s3", "BUCKET": name, "ENDPOINT": s3_endpoint, "ADDRESSING": "path"}.items():
        monkeypatch.setenv(f"TICKETS_PHOTOS_{key}", value)
    return client, name


def _keys(client, name: str) -> list[str]:
    return sorted(o["Key"] for o in client.list_objects_v2(Bucket=name).get("Contents", []))


async def test_a_private_tickets_photo_is_served_from_the_store_by_a_presigned_url_no_longer_than_its_link(
    start_runtime, clock, settings, bucket, s3_endpoint
):
    client_s3, name = bucket
    async with start_runtime(["tickets"], clock=clock) as (_rt, client):
        photo = [("photo", ("kitchen.jpg", jpeg_with_exif(), "image/jpeg"))]
        fields = {"category": "home_hazard", "title": "燃气软管", "description": "厨房", "community": "北翟营"}
        r = await client.post("/api/tickets/tickets", headers=RESIDENT, data=fields, files=photo)
        assert r.status_code == 201, r.text
        private = r.json()
        sha = re.search(r"/media/([0-9a-f]{64})\.jpg\?", private["media_url"]).group(1)
        assert _keys(client_s3, name) == [f"tickets/{sha[:2]}/{sha}.jpg"]  # cleaned, content-addressed
        stored = client_s3.get_object(Bucket=name, Key=f"tickets/{sha[:2]}/{sha}.jpg")
        body = stored["Body"].read()
        assert stored["ContentType"] == "image/jpeg" and b"TestCam" not in body  # EXIF never reaches the store
        assert not (settings.var_dir / "media").exists()  # nothing on disk

        signed = private["media_url"].replace("http://linli.test", "")
        assert (await client.get(signed.split("?")[0])).status_code == 404  # no link, no photo
        clock.advance(timedelta(minutes=5))
        answer = await client.get(signed)
        assert answer.status_code == 307 and answer.headers["cache-control"].startswith("private, max-age=")
        url = answer.headers["location"]
        assert url.startswith(s3_endpoint + f"/{name}/tickets/")
        expires = int(parse_qs(urlsplit(url).query)["X-Amz-Expires"][0])
        assert 590 <= expires <= 600  # what is left of the 15-minute link, no more
        async with httpx.AsyncClient() as browser:
            fetched = await browser.get(url)
        assert fetched.status_code == 200 and fetched.content == body

        clock.advance(timedelta(minutes=11))  # the link has expired
        assert (await client.get(signed)).status_code == 404

        street = {k: str(v) for k, v in MANHOLE.items()}
        files = [("photo", ("lamp.png", png_bytes(), "image/png"))]
        public = (await client.post("/api/tickets/tickets", headers=RESIDENT, data=street, files=files)).json()
        answer = await client.get(public["media_url"].replace("http://linli.test", ""))
        assert answer.status_code == 307 and answer.headers["cache-control"] == "public, max-age=600"
        assert parse_qs(urlsplit(answer.headers["location"]).query)["X-Amz-Expires"] == ["3600"]
        assert len(_keys(client_s3, name)) == 2


def test_the_store_uploads_a_photo_once_with_its_display_copy_and_presigns_for_the_public_address(bucket, s3_endpoint):
    client_s3, name = bucket
    big = io.BytesIO()
    Image.new("RGB", (2400, 1800), (90, 120, 200)).save(big, "JPEG", quality=90)
    photo = clean("big.jpg", big.getvalue())
    settings = PhotoSettings()
    store = S3Photos(settings)
    assert store.put(photo) is True
    assert store.put(photo) is False and S3Photos(settings).put(photo) is False  # known, or found by HEAD
    assert _keys(client_s3, name) == sorted(f"tickets/{p.sha256[:2]}/{p.sha256}.jpg" for p in (photo, photo.display))
    outside = S3Photos(settings.model_copy(update={"public_endpoint": "https://photos.district.example"}))
    url = outside.locate(photo.sha256, "jpeg", 60)
    assert url.startswith(f"https://photos.district.example/{name}/tickets/") and "X-Amz-Expires=60" in url


def test_a_store_that_does_not_answer_refuses_the_report_with_503_and_stores_nothing(bucket):
    from types import SimpleNamespace

    down = S3Photos(PhotoSettings().model_copy(update={"endpoint": f"http://127.0.0.1:{free_port()}"}))
    ctx = SimpleNamespace(state={"photos": down})  # what photo_store(ctx) finds opened
    with pytest.raises(PhotosUnavailable) as refused:
        clean_photos([("p.jpg", jpeg_with_exif())], ctx)  # type: ignore[arg-type]
    assert isinstance(refused.value, DomainError) and refused.value.status == 503
    assert refused.value.code == "photo_store_unavailable" and "127.0.0.1" not in str(refused.value)
