"""Draw the contact sheets of docs/elements.md: per matte method, input, alpha, over a plate.

    .venv/bin/python benchmarks/contact_sheets.py [--out docs/images]

Each sheet is three tiles from the synthetic elements of `synthetic_elements.py`: what the
model made (or the sequence keyed), the alpha the method pulls, and the premultiplied
element merged over a plate (a grey-blue gradient with a bright highlight). PNG, sRGB.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from synthetic_elements import element, over

from genvfx.media.matte import MatteSettings, difference_alpha, difference_matte, key, mask_alpha

HEIGHT, WIDTH = 144, 256


def plate() -> np.ndarray:
    ramp = np.linspace(0.05, 0.35, WIDTH, dtype=np.float32)[None, :, None]
    picture = np.ones((HEIGHT, 1, 3), np.float32) * ramp * np.array([0.8, 0.9, 1.1], np.float32)
    picture[20:30, 200:210] = 4.0
    return picture


def encode(linear: np.ndarray) -> np.ndarray:
    x = np.clip(linear, 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)


def sheet(source: np.ndarray, rgba: np.ndarray) -> np.ndarray:
    background = plate()
    comp = rgba[:, :, :3] + background * (1 - rgba[:, :, 3:4])
    alpha = np.repeat(rgba[:, :, 3:4], 3, axis=2)
    gap = np.ones((HEIGHT, 4, 3), np.float32)
    return np.concatenate([encode(source), gap, alpha, gap, encode(comp)], axis=1)


def sheets() -> dict[str, np.ndarray]:
    colour, alpha = element("smoke", HEIGHT, WIDTH)
    fire_colour, fire_alpha = element("fire", HEIGHT, WIDTH)
    debris, debris_alpha = element("debris", HEIGHT, WIDTH)
    out: dict[str, np.ndarray] = {}
    on_black = over(fire_colour, fire_alpha, "black")
    out["black"] = sheet(on_black, key(on_black, MatteSettings("black")))
    on_green = over(colour, alpha, "green")
    out["green"] = sheet(on_green, key(on_green, MatteSettings("green")))
    on_blue = over(debris, debris_alpha, "blue")
    out["blue"] = sheet(on_blue, key(on_blue, MatteSettings("blue")))
    opaque = over(colour, alpha, "black") + plate() * 0.5
    out["none"] = sheet(opaque, key(opaque, MatteSettings("none")))
    mask = np.zeros((HEIGHT, WIDTH), np.float32)
    mask[30:120, 60:200] = 1.0
    soft = mask_alpha(mask, MatteSettings("mask", feather=12.0))
    out["mask"] = sheet(opaque, np.concatenate([opaque * soft[:, :, None], soft[:, :, None]], 2))
    changed = plate()
    changed = changed + (over(fire_colour, fire_alpha, "black") - changed) * fire_alpha[:, :, None]
    seen = difference_alpha(encode(changed), encode(plate()))
    out["difference"] = sheet(changed, difference_matte(changed, seen, MatteSettings("difference")))
    return out


def main() -> None:
    import OpenImageIO as oiio

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("docs/images"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, picture in sheets().items():
        path = args.out / f"matte-{name}.png"
        image = oiio.ImageBuf(np.ascontiguousarray(picture, np.float32))
        if not image.write(str(path), oiio.UINT8):
            raise SystemExit(f"cannot write {path}: {image.geterror()}")
        print(path)


if __name__ == "__main__":
    main()
