"""Images people actually upload: every one loads correctly or fails with a message naming the
problem (exit 2), quickly and without decoding anything huge."""

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from lego_demo.errors import BadInput
from lego_demo.images import fit_mask, fit_working_size, load_image, load_mask


def encode(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


def test_one_pixel():
    arr = load_image(encode(Image.new("RGB", (1, 1), (1, 2, 3)), "PNG"))
    assert arr.shape == (1, 1, 3) and tuple(arr[0, 0]) == (1, 2, 3)


def test_sixteen_bit_greyscale_is_scaled_not_clipped():
    data = (np.arange(64, dtype=np.uint16).reshape(8, 8) * 1000).astype(np.uint16)
    arr = load_image(encode(Image.fromarray(data), "PNG"))
    assert arr.shape == (8, 8, 3) and arr.max() == 255 and arr.min() == 0
    assert arr[0, 1, 0] < arr[7, 7, 0]


def test_cmyk_jpeg_becomes_rgb():
    arr = load_image(encode(Image.new("CMYK", (8, 8), (0, 255, 255, 0)), "JPEG"))
    assert arr.shape == (8, 8, 3)
    r, g, b = arr[4, 4].astype(int)
    assert r > 200 and g < 60 and b < 60  # cyan 0, magenta+yellow full = red


def test_palette_with_transparency_keeps_alpha():
    im = Image.new("P", (4, 4), 0)
    im.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    im.putpixel((0, 0), 1)
    arr = load_image(encode(im, "PNG", transparency=0))
    assert arr.shape == (4, 4, 4) and arr[0, 0, 3] == 255 and arr[1, 1, 3] == 0


def test_opaque_alpha_is_dropped():
    arr = load_image(encode(Image.new("RGBA", (4, 4), (9, 9, 9, 255)), "PNG"))
    assert arr.shape == (4, 4, 3)


def test_exif_orientation_is_respected():
    im = Image.new("RGB", (40, 20), (255, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise when displayed
    arr = load_image(encode(im, "JPEG", exif=exif.tobytes()))
    assert arr.shape[:2] == (40, 20)


def test_animated_gif_uses_first_frame_and_says_so():
    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 0, 255))]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=100)
    notes: list[str] = []
    arr = load_image(buf.getvalue(), notes=notes)
    assert arr[0, 0, 0] > 200 and arr[0, 0, 2] < 50
    assert any("first frame" in n for n in notes)


@pytest.mark.parametrize("data,message", [
    (b"", "empty"),
    (b"hello, I am text", "not an image"),
    (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>', "not an image"),
])
def test_unreadable_inputs(data, message):
    with pytest.raises(BadInput, match=message):
        load_image(data)


def test_truncated_png_and_jpeg():
    png = encode(Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)), "PNG")
    jpg = encode(Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)), "JPEG")
    for data in (png[: len(png) // 2], jpg[: len(jpg) // 3]):
        with pytest.raises(BadInput, match="truncated or corrupt"):
            load_image(data)


def header_only_png(w: int, h: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b""))


def test_huge_header_refused_before_decoding():
    with pytest.raises(BadInput, match="claims 1600 MP"):
        load_image(header_only_png(40000, 40000))
    with pytest.raises(BadInput, match="limit is 40 MP"):
        load_image(header_only_png(8000, 8000))


def test_large_photo_is_fitted_to_working_size():
    notes: list[str] = []
    big = np.zeros((3000, 4000, 3), np.uint8)
    fitted = fit_working_size(big, 2048, notes)
    assert fitted.shape == (1536, 2048, 3) and "downscaled from 4000×3000" in notes[0]
    mask = np.zeros((3000, 4000), bool)
    mask[:1500] = True
    assert fit_mask(mask, fitted.shape[:2]).shape == (1536, 2048)
    small = np.zeros((100, 100, 3), np.uint8)
    assert fit_working_size(small, 2048) is small


def test_mask_from_drawn_layer_alpha():
    layer = np.zeros((10, 10, 4), np.uint8)
    layer[2:5, 2:5] = (255, 255, 255, 255)
    mask = load_mask(encode(Image.fromarray(layer, "RGBA"), "PNG"), (10, 10))
    assert mask.sum() == 9
