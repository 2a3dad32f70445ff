"""The visual tasks wired into the recommender and the session (issue 7, item 4).

A four-product catalog built with the shipped default bundle and real Fashion-MNIST
product photos; the shopper photo is the real full-body fixture photo.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import fashionrec_sdk as fr

FMNIST = Path("/usr/share/datasets/fashion-mnist")
PHOTOS = Path(__file__).parent / "fixtures" / "photos"
PHOTO = PHOTOS / "standing_full_body.jpg"
#: t10k indices -> (id, title, category); labels checked below.
ITEMS = {
    19: ("tee", "white cotton t-shirt", "Tops", 0),
    2: ("jeans", "blue straight trousers", "Trousers", 1),
    13: ("dress", "red summer dress", "Dresses", 3),
    0: ("boots", "black ankle boots", "Boots", 9),
}


@pytest.fixture(scope="module")
def rec(tmp_path_factory: pytest.TempPathFactory) -> fr.Recommender:
    images = FMNIST / "t10k-images-idx3-ubyte.gz"
    if not images.is_file():
        pytest.skip(f"Fashion-MNIST not installed at {FMNIST}")
    arr = np.frombuffer(gzip.decompress(images.read_bytes()), np.uint8, offset=16)
    arr = arr.reshape(-1, 28, 28)
    labels = np.frombuffer(
        gzip.decompress((FMNIST / "t10k-labels-idx1-ubyte.gz").read_bytes()), np.uint8, offset=8
    )
    folder = tmp_path_factory.mktemp("products")
    products = []
    for idx, (pid, title, category, label) in ITEMS.items():
        assert labels[idx] == label
        path = folder / f"{pid}.png"
        Image.fromarray(arr[idx]).save(path)
        products.append(
            fr.Product(id=pid, title=title, category=category, price=40.0, image=str(path))
        )
    bundle = fr.ModelBundle.load(threads=1)
    return fr.Recommender(fr.Catalog.build(products, bundle=bundle, show_progress=False))


def _torso_change(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute pixel change in the middle of the photo (where the torso is)."""
    w, h = a.size
    box = (w // 4, h // 3, 3 * w // 4, h // 2)
    pa = np.asarray(a.convert("L").crop(box), np.float32)
    pb = np.asarray(b.convert("L").crop(box), np.float32)
    return float(np.abs(pa - pb).mean())


def test_tryon_through_the_recommender(rec: fr.Recommender) -> None:
    photo = Image.open(PHOTO).convert("RGB")
    out = rec.tryon(PHOTO, "tee")
    assert out.size == photo.size
    assert _torso_change(photo, out) > 5.0  # the t-shirt covers the torso
    assert np.array_equal(np.asarray(out), np.asarray(rec.tryon(PHOTO, "tee")))


def test_tryon_refuses_shoes_and_unknown_items(rec: fr.Recommender) -> None:
    with pytest.raises(fr.InvalidInputError) as err:
        rec.tryon(PHOTO, "boots")
    assert err.value.field == "product" and "shoes" in str(err.value)
    with pytest.raises(fr.InvalidInputError):
        rec.tryon(PHOTO, "no-such-id")


def test_generate_image_is_deterministic_per_seed(rec: fr.Recommender) -> None:
    a = rec.generate_image("a red summer dress", seed=1, size=64)
    b = rec.generate_image("a red summer dress", seed=1, size=64)
    c = rec.generate_image("a red summer dress", seed=2, size=64)
    assert a.size == (64, 64)
    assert np.array_equal(np.asarray(a), np.asarray(b))
    assert not np.array_equal(np.asarray(a), np.asarray(c))
    rgb = np.asarray(a, np.float32)
    ink = rgb.mean(axis=2) < 200
    assert ink.any() and (rgb[ink, 0] > rgb[ink, 2]).mean() > 0.9  # tinted red


def test_body_from_photo_refuses_a_cropped_body_with_the_reason(rec: fr.Recommender) -> None:
    with pytest.raises(fr.InvalidInputError) as err:
        rec.body_from_photo(PHOTOS / "astronaut.jpg", 170)
    assert err.value.field == "image" and "outside the image" in str(err.value)


def test_session_show_it_on_me(rec: fr.Recommender) -> None:
    session = rec.session()
    first = session.ask("a white t-shirt")
    assert first[0].product.id == "tee"
    reply = session.ask("show it on me", image=PHOTO)
    (shot,) = reply.images
    assert shot.kind == "tryon" and shot.product_id == "tee"
    img = shot.to_image()
    assert img.size == Image.open(PHOTO).size
    assert "on you" in reply.text
    assert [r.product.id for r in reply] == [r.product.id for r in first]
    assert session.history[-1].kind == "tryon"


def test_session_try_on_a_new_request(rec: fr.Recommender) -> None:
    reply = rec.session().ask("try on a red dress", image=PHOTO)
    (shot,) = reply.images
    assert shot.product_id == "dress"


def test_session_show_it_on_me_needs_a_photo(rec: fr.Recommender) -> None:
    session = rec.session()
    session.ask("a white t-shirt")
    with pytest.raises(fr.InvalidInputError) as err:
        session.ask("show it on me")
    assert err.value.field == "image"


def test_session_draws_what_is_described(rec: fr.Recommender) -> None:
    reply = rec.session().ask("draw a red summer dress")
    (pic,) = reply.images
    assert pic.kind == "generated" and pic.caption == "a sketch of “a red summer dress”"
    assert pic.to_image().size == (256, 256)
    assert reply[0].product.id == "dress"  # and the catalog's closest item is shown


def test_session_photo_with_height_reports_an_unusable_photo(rec: fr.Recommender) -> None:
    session = rec.session()
    reply = session.ask("a casual outfit", image=PHOTOS / "astronaut.jpg", height_cm=170)
    assert "could not measure you" in reply.text
    assert session.user.body is None
    assert len(reply) > 0


class _FakeTryOn:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def tryon(
        self,
        person_image: object,
        garment: object,
        *,
        category: str | None = None,
    ) -> Image.Image:
        self.calls.append(getattr(garment, "id", "?"))
        return Image.new("RGB", (10, 10), (0, 255, 0))


def test_custom_backends_are_used(rec: fr.Recommender) -> None:
    fake = _FakeTryOn()

    class Flat(fr.ImageGenerator):
        def generate(
            self, description: str, *, n: int = 1, seed: int | None = None, size: int = 256
        ) -> list[Image.Image]:
            return [Image.new("RGB", (size, size), (1, 2, 3))] * n

    custom = fr.Recommender(rec.catalog, tryon_backend=fake, image_generator=Flat())
    assert isinstance(fake, fr.TryOnBackend)
    reply = custom.session().ask("try on a white t-shirt", image=PHOTO)
    assert fake.calls == ["tee"] and reply.images[0].to_image().getpixel((0, 0)) == (0, 255, 0)
    assert custom.generate_image("anything", size=8).getpixel((0, 0)) == (1, 2, 3)


def test_reply_with_images_serialises_to_json(rec: fr.Recommender) -> None:
    session = rec.session()
    session.ask("a white t-shirt")
    reply = session.ask("show it on me", image=PHOTO)
    data = reply.model_dump_json()
    back = fr.SessionReply.model_validate_json(data)
    assert back.images[0].png == reply.images[0].png
    restored = fr.Session.from_json(session.to_json(), recommender=rec)
    assert [r.kind for r in restored.history] == ["ask", "tryon"]


def test_liked_item_is_the_one_shown_on_me(rec: fr.Recommender) -> None:
    session = rec.session()
    first = session.ask("jeans and a t-shirt")
    ids = [r.product.id for r in first]
    assert {"jeans", "tee"} <= set(ids)
    liked = ids[1]  # not the first one shown
    session.like(liked)
    reply = session.ask("show it on me", image=PHOTO)
    assert reply.images[0].product_id == liked


def test_put_the_trousers_on_me_uses_the_shown_trousers(rec: fr.Recommender) -> None:
    session = rec.session()
    first = session.ask("jeans and a t-shirt")
    assert "jeans" in [r.product.id for r in first]
    reply = session.ask("put the trousers on me", image=PHOTO)
    assert reply.images[0].product_id == "jeans"
    assert [r.kind for r in session.history] == ["ask", "tryon"]  # no new search


def test_unusable_photo_is_a_note_not_an_error(rec: fr.Recommender) -> None:
    session = rec.session()
    session.ask("blue trousers")
    reply = session.ask("show it on me", image=PHOTOS / "astronaut.jpg")
    assert not reply.images and "could not show" in reply.text
    assert len(reply) > 0


def test_try_on_words_without_a_photo_still_search(rec: fr.Recommender) -> None:
    reply = rec.session().ask("a dress I can try on in store")
    assert len(reply) > 0 and "photo" in reply.text


def test_bad_arguments_raise_typed_errors(rec: fr.Recommender) -> None:
    session = rec.session()
    with pytest.raises(fr.InvalidInputError) as err:
        session.ask("show it on me", image=PHOTO)  # nothing shown yet
    assert err.value.field == "text"
    with pytest.raises(fr.InvalidInputError) as err:
        session.ask("a casual outfit", height_cm=170)
    assert err.value.field == "height_cm"
    for bad in ("tall", float("nan"), 20):
        with pytest.raises(fr.InvalidInputError) as err:
            session.ask("a casual outfit", image=PHOTO, height_cm=bad)  # type: ignore[arg-type]
        assert err.value.field == "height_cm"
    with pytest.raises(fr.InvalidInputError) as err:
        session.ask("show it on me", image=123)
    assert err.value.field == "image"
    assert session.history == []
