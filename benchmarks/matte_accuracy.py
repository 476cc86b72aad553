"""Matte accuracy and speed on synthetic elements with known alpha, and the view round trip.

    .venv/bin/python benchmarks/matte_accuracy.py [--width 2048 --height 1080]

Per element and background: mean absolute alpha error against the truth (where the truth
or the matte is non-zero), for black the correlation with the truth and the largest alpha
where the truth is 0, the error of the element over a grey plate against the true
composite, and frames per second of the key at the size given (2K by default). Then the
colour round trip of the config's default view for grey 0.001-16.0 and ACEScg colours
outside the sRGB gamut.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from synthetic_elements import element, over

from genvfx.media.colour import check_model_space, convert, from_model_space, to_model_space
from genvfx.media.matte import MatteSettings, key

GREY = 0.18


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--width", type=int, default=2048)
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(
        f"{'element':8} {'method':6} {'alpha MAE':>10} {'corr':>6} {'a|t=0':>7} "
        f"{'comp MAE':>9} {'fps':>6}"
    )
    for kind in ("smoke", "fire", "debris"):
        colour, alpha = element(kind, args.height, args.width)
        for background in ("black", "green", "blue"):
            picture = over(colour, alpha, background)
            settings = MatteSettings(background)
            started = time.perf_counter()
            for _ in range(args.repeats):
                out = key(picture, settings)
            fps = args.repeats / (time.perf_counter() - started)
            where = (alpha > 0) | (out[:, :, 3] > 0)
            error = float(np.abs(out[:, :, 3] - alpha)[where].mean())
            corr = float(np.corrcoef(out[:, :, 3].ravel(), alpha.ravel())[0, 1])
            stray = float(out[:, :, 3][alpha == 0].max())
            truth = colour * alpha[:, :, None] + GREY * (1 - alpha[:, :, None])
            comp = out[:, :, :3] + GREY * (1 - out[:, :, 3:4])
            comp_error = float(np.abs(comp - truth)[where].mean())
            print(
                f"{kind:8} {background:6} {error:10.4f} {corr:6.3f} {stray:7.4f} "
                f"{comp_error:9.4f} {fps:6.2f}"
            )
    round_trip()


def round_trip() -> None:
    config = "ocio://default"
    view = check_model_space(config, None)
    grey = np.geomspace(1e-3, 16.0, 256, dtype=np.float32)[:, None].repeat(3, axis=1)
    back = from_model_space(
        to_model_space(grey, config, "lin_rec709", view), config, view, "lin_rec709"
    )
    relative = float(np.max(np.abs(back - grey) / grey))
    print(f"\nview {view}: grey 0.001-16.0, largest relative round-trip error {relative:.2e}")
    acescg = np.array(
        [[0.05, 0.05, 0.8], [0.0, 0.6, 0.1], [0.7, 0.02, 0.02], [0.1, 0.5, 0.6]], np.float32
    )
    linear = convert(acescg, config, "ACEScg", "lin_rec709")
    back = from_model_space(
        to_model_space(linear, config, "lin_rec709", view), config, view, "lin_rec709"
    )
    back_cg = convert(back, config, "lin_rec709", "ACEScg")
    for before, after in zip(acescg, back_cg, strict=True):
        print(
            f"ACEScg {before.round(3).tolist()} -> {after.round(3).tolist()} "
            f"(largest change {float(np.abs(after - before).max()):.3f})"
        )


if __name__ == "__main__":
    main()
