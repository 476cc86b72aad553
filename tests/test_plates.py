"""Reading plates and masks: windows, layers, parts, MIP levels, refusals, sequences."""

from __future__ import annotations

import logging
import struct
from pathlib import Path

import numpy as np
import pytest
from exr_cases import pattern, write, write_deep, write_mipmapped, write_multipart

from genvfx.errors import InvalidField, InvalidInput
from genvfx.job import Format, FrameRange
from genvfx.media import plates

RGB = ("R", "G", "B")
RGBA = ("R", "G", "B", "A")


# --- patterns and sequences -------------------------------------------------------------


def test_frame_path_understands_hashes_and_printf() -> None:
    assert plates.frame_path("/s/plate.####.exr", 1001) == "/s/plate.1001.exr"
    assert plates.frame_path("/s/plate.##.exr", 7) == "/s/plate.07.exr"
    assert plates.frame_path("/s/plate.%04d.exr", 42) == "/s/plate.0042.exr"
    assert plates.frame_path("/s/plate.%d.exr", 42) == "/s/plate.42.exr"
    assert plates.frame_path("/s/plate.####.exr", -3) == "/s/plate.-003.exr"
    assert plates.frame_path("/s/still.exr", 1001) == "/s/still.exr"
    with pytest.raises(InvalidField) as err:
        plates.frame_path("/s/##/plate.####.exr", 1)
    assert err.value.field == "plate"


def _sequence(folder: Path, frames: range, name: str = "plate") -> str:
    for frame in frames:
        write(folder / f"{name}.{frame:04d}.exr", pattern(16, 8, seed=frame), RGB)
    return str(folder / f"{name}.####.exr")


def test_missing_frames_are_listed_as_compact_ranges(tmp_path: Path) -> None:
    frames = [f for f in range(1001, 1011) if f not in (1003, 1006, 1007)]
    seq = _sequence(tmp_path, range(0))
    for frame in frames:
        write(tmp_path / f"plate.{frame}.exr", pattern(16, 8), RGB)
    assert plates.missing_frames(seq, range(1001, 1011)) == [1003, 1006, 1007]
    with pytest.raises(InvalidField) as err:
        plates.open_plate(seq, FrameRange(1001, 1010))
    assert err.value.field == "plate"
    assert "1003, 1006-1007" in str(err.value)
    with pytest.raises(InvalidField) as err:
        plates.open_mask(seq, FrameRange(1001, 1010))
    assert err.value.field == "mask"


def test_frame_range_on_disk_respects_padding(tmp_path: Path) -> None:
    seq = _sequence(tmp_path, range(1001, 1006))
    write(tmp_path / "plate.12.exr", pattern(16, 8), RGB)
    assert plates.frame_range_on_disk(seq) == FrameRange(1001, 1005)
    with pytest.raises(InvalidField):
        plates.frame_range_on_disk(str(tmp_path / "none.####.exr"))


def test_sequence_reads_lazily_one_frame_at_a_time(tmp_path: Path) -> None:
    seq = _sequence(tmp_path, range(1, 4))
    opened = plates.open_plate(seq, FrameRange(1, 3))
    assert opened.info.format == Format(16, 8)
    # A frame replaced after opening is read as it is now: nothing was read ahead.
    write(tmp_path / "plate.0003.exr", np.full((8, 16, 3), 5.0, np.float32), RGB)
    frames = iter(opened)
    frame, first = next(frames)
    assert frame == 1
    np.testing.assert_array_equal(first[:, :, :3], pattern(16, 8, seed=1))
    assert [f for f, _ in frames] == [2, 3]
    assert float(opened.read(3)[0, 0, 0]) == 5.0
    with pytest.raises(InvalidField):
        opened.read(4)


def test_a_frame_with_another_format_is_refused(tmp_path: Path) -> None:
    seq = _sequence(tmp_path, range(1, 3))
    write(tmp_path / "plate.0002.exr", pattern(32, 8), RGB)
    opened = plates.open_plate(seq, FrameRange(1, 2))
    with pytest.raises(InvalidField, match="same format as the first frame"):
        opened.read(2)


# --- windows and pixel aspect -----------------------------------------------------------


def test_offset_data_window_lands_in_a_4k_display_window(tmp_path: Path) -> None:
    data = pattern(64, 32, seed=3)
    path = write(tmp_path / "offset.exr", data, RGB, origin=(1000, 500), display=(0, 0, 4096, 2160))
    info = plates.read_info(path)
    assert info.format == Format(4096, 2160)
    assert info.data_window == plates.Window(1000, 500, 64, 32)
    assert not info.has_alpha
    image = plates.read_frame(path)
    assert image.shape == (2160, 4096, 4) and image.dtype == np.float32
    np.testing.assert_array_equal(image[500:532, 1000:1064, :3], data)
    assert (image[500:532, 1000:1064, 3] == 1.0).all()
    outside = image.copy()
    outside[500:532, 1000:1064] = 0
    assert not outside.any()


def test_overscan_is_cropped_to_the_display_window(tmp_path: Path) -> None:
    data = pattern(240, 120, 4, seed=4)
    path = write(tmp_path / "over.exr", data, RGBA, origin=(-20, -10), display=(0, 0, 200, 100))
    image = plates.read_frame(path)
    assert image.shape == (100, 200, 4)
    np.testing.assert_array_equal(image, data[10:110, 20:220])


def test_display_window_with_its_own_origin(tmp_path: Path) -> None:
    data = pattern(20, 10, seed=5)
    path = write(tmp_path / "origin.exr", data, RGB, origin=(0, 0), display=(-5, -3, 40, 20))
    info = plates.read_info(path)
    assert info.display_origin == (-5, -3)
    image = plates.read_frame(path)
    np.testing.assert_array_equal(image[3:13, 5:25, :3], data)
    assert image[:3].sum() == 0 and image[:, :5].sum() == 0


def test_pixel_aspect_is_reported_and_the_pixel_grid_kept(tmp_path: Path) -> None:
    data = pattern(32, 16, seed=6)
    path = write(tmp_path / "anamorphic.exr", data, RGB, pixel_aspect=2.0)
    assert plates.read_info(path).pixel_aspect == 2.0
    np.testing.assert_array_equal(plates.read_frame(path)[:, :, :3], data)


# --- layers, parts, levels, compression -------------------------------------------------


def test_layers_by_name_including_long_names(tmp_path: Path) -> None:
    beauty, diffuse = pattern(16, 8, 3, seed=7), pattern(16, 8, 4, seed=8)
    specular = pattern(16, 8, 3, seed=9)
    channels = (
        *RGB,
        "diffuse.R",
        "diffuse.G",
        "diffuse.B",
        "diffuse.A",
        "spec.red",
        "spec.green",
        "spec.blue",
    )
    path = write(
        tmp_path / "layers.exr", np.concatenate([beauty, diffuse, specular], axis=2), channels
    )
    assert set(plates.read_info(path).layers) == {"rgba", "diffuse", "spec"}
    np.testing.assert_array_equal(plates.read_frame(path)[:, :, :3], beauty)
    np.testing.assert_array_equal(plates.read_frame(path, "diffuse"), diffuse)
    assert plates.read_info(path, "diffuse").has_alpha
    np.testing.assert_array_equal(plates.read_frame(path, "spec")[:, :, :3], specular)
    with pytest.raises(InvalidField) as err:
        plates.read_frame(path, "emission")
    assert err.value.field == "plate"
    assert "diffuse, rgba, spec" in str(err.value)


def test_channel_names_with_spaces_split_on_the_last_dot(tmp_path: Path) -> None:
    one, two = pattern(16, 8, 4, seed=10), pattern(16, 8, 4, seed=11)
    names = [f"Warstwa {n}.{c}" for n in (1, 2) for c in RGBA]
    path = write(tmp_path / "spaces.exr", np.concatenate([one, two], axis=2), names)
    np.testing.assert_array_equal(plates.read_frame(path, "Warstwa 2"), two)
    np.testing.assert_array_equal(plates.read_frame(path, "Warstwa 1"), one)
    with pytest.raises(InvalidField, match="Warstwa 1, Warstwa 2"):
        plates.read_frame(path)


def test_tiled_mipmapped_reads_the_top_level(tmp_path: Path) -> None:
    top = pattern(64, 32, seed=12)
    levels = [top] + [
        np.full((max(1, 32 >> k), max(1, 64 >> k), 3), 9.0, np.float32) for k in range(1, 7)
    ]
    path = write_mipmapped(tmp_path / "mip.exr", levels, RGB)
    info = plates.read_info(path)
    assert info.tiled and info.mip_levels == 7
    np.testing.assert_array_equal(plates.read_frame(path)[:, :, :3], top)


def test_multipart_first_part_named_part_and_part_layer(tmp_path: Path) -> None:
    depth = pattern(16, 8, 1, seed=13)
    beauty = pattern(16, 8, 4, seed=14)
    extra = pattern(16, 8, 3, seed=15)
    path = write_multipart(
        tmp_path / "parts.exr",
        [
            ("depth", ("Z",), depth),
            ("beauty", RGBA, beauty),
            ("extra", ("diffuse.R", "diffuse.G", "diffuse.B"), extra),
        ],
    )
    info = plates.read_info(path)
    assert info.parts == ("depth", "beauty", "extra") and info.part == 1
    np.testing.assert_array_equal(plates.read_frame(path), beauty)
    np.testing.assert_array_equal(plates.read_frame(path, "beauty"), beauty)
    np.testing.assert_array_equal(plates.read_frame(path, "extra")[:, :, :3], extra)
    np.testing.assert_array_equal(plates.read_frame(path, "extra.diffuse")[:, :, :3], extra)
    np.testing.assert_array_equal(plates.read_frame(path, "diffuse")[:, :, :3], extra)
    assert plates.read_info(path, "extra.diffuse").part == 2
    with pytest.raises(InvalidField, match="part 'depth' has channels Z"):
        plates.read_frame(path, "depth")


@pytest.mark.parametrize(
    ("compression", "tolerance"),
    [
        ("zip", 0.0),
        ("zips", 0.0),
        ("piz", 0.0),
        ("rle", 0.0),
        ("pxr24", 0.0),
        ("b44", 0.01),
        ("dwaa", 0.05),
        ("dwab", 0.05),
        ("none", 0.0),
    ],
)
def test_compressions(tmp_path: Path, compression: str, tolerance: float) -> None:
    y, x = np.mgrid[0:64, 0:96].astype(np.float32)
    data = np.stack([x / 96, y / 64, (x + y) / 160, np.ones_like(x)], axis=2)
    path = write(tmp_path / f"{compression}.exr", data, RGBA, compression=compression)
    assert plates.read_info(path).compression == compression
    image = plates.read_frame(path)
    assert np.abs(image - data).max() <= tolerance + 1e-3


def test_nan_and_inf_become_zero_with_a_count(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = pattern(8, 4, seed=16)
    data[0, 0, 0] = np.nan
    data[1, 2, 1] = np.inf
    data[3, 7, 2] = -np.inf
    path = write(tmp_path / "bad.exr", data, RGB, pixel_type="float")
    seen: list[str] = []
    image = plates.read_frame(path, warn=seen.append)
    assert np.isfinite(image).all()
    assert image[0, 0, 0] == 0 and image[1, 2, 1] == 0 and image[3, 7, 2] == 0
    assert len(seen) == 1 and "3 NaN/Inf" in seen[0] and "bad.exr" in seen[0]
    with caplog.at_level(logging.WARNING, logger="genvfx.plates"):
        plates.read_frame(path)
    assert "3 NaN/Inf" in caplog.text


# --- refusals ---------------------------------------------------------------------------


def test_deep_files_are_refused(tmp_path: Path) -> None:
    path = write_deep(tmp_path / "deep.exr")
    for read in (plates.read_frame, plates.read_mask):
        with pytest.raises(InvalidField, match="deep") as err:
            read(path)
        assert str(path) in str(err.value)


@pytest.mark.parametrize("channels", [("Y",), ("Y", "RY", "BY"), ("Y", "A")])
def test_luminance_only_plates_are_refused(tmp_path: Path, channels: tuple[str, ...]) -> None:
    path = write(tmp_path / "luma.exr", pattern(16, 8, len(channels)), channels)
    with pytest.raises(InvalidField, match=r"luminance-only \(Y/RY/BY\)"):
        plates.read_frame(path)


def test_truncated_file_is_refused(tmp_path: Path) -> None:
    whole = write(tmp_path / "whole.exr", pattern(256, 128, seed=17), RGB)
    data = whole.read_bytes()
    cut = tmp_path / "cut.exr"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(InvalidField, match="reading its pixels failed") as err:
        plates.read_frame(cut)
    assert err.value.field == "plate"
    head = tmp_path / "head.exr"
    head.write_bytes(data[:120])
    with pytest.raises(InvalidField, match="damaged or truncated"):
        plates.read_info(head)


def test_not_an_image_and_no_file_are_refused(tmp_path: Path) -> None:
    text = tmp_path / "notes.exr"
    text.write_text("not pixels")
    with pytest.raises(InvalidInput, match=r"notes\.exr"):
        plates.read_frame(text)
    with pytest.raises(InvalidField, match="an existing image file"):
        plates.read_frame(tmp_path / "absent.exr", field="mask")


def _patched_window(path: Path, key: bytes, right: int, bottom: int) -> Path:
    header = bytearray(path.read_bytes())
    at = header.index(key + b"\x00box2i\x00") + len(key) + 7 + 4
    header[at + 8 : at + 16] = struct.pack("<2i", right, bottom)
    patched = path.with_name(f"{key.decode()}-{path.name}")
    patched.write_bytes(bytes(header))
    return patched


def test_huge_declared_sizes_are_refused_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "small.exr", np.zeros((8, 8, 3), np.float32), RGB)
    huge_data = _patched_window(path, b"dataWindow", 19999, 19999)
    with pytest.raises(InvalidField, match=r"damaged or truncated|MiB of pixels"):
        plates.read_frame(huge_data)
    huge_display = _patched_window(path, b"displayWindow", 99999, 99999)
    with pytest.raises(InvalidField, match="display window of 1 to 16384 pixels"):
        plates.read_info(huge_display)
    monkeypatch.setattr(plates, "MAX_READ_BYTES", 8 * 8 * 3 * 4 - 1)
    with pytest.raises(InvalidField, match="MiB of pixels per frame"):
        plates.read_frame(path)


# --- masks ------------------------------------------------------------------------------


def test_mask_prefers_alpha_then_red_then_luminance(tmp_path: Path) -> None:
    rgba = pattern(16, 8, 4, seed=18) / 8
    alpha = write(tmp_path / "a.exr", rgba, RGBA, origin=(2, 1), display=(0, 0, 20, 10))
    mask = plates.read_mask(alpha)
    assert mask.shape == (10, 20)
    np.testing.assert_array_equal(mask[1:9, 2:18], np.clip(rgba[:, :, 3], 0, 1))
    assert mask[0].sum() == 0
    red = write(tmp_path / "r.exr", rgba[:, :, :3], RGB)
    np.testing.assert_array_equal(plates.read_mask(red), np.clip(rgba[:, :, 0], 0, 1))
    luma = write(tmp_path / "y.exr", rgba[:, :, :1] * 4 - 1, ("Y",))
    got = plates.read_mask(luma)
    assert got.min() == 0.0 and got.max() == 1.0
    np.testing.assert_array_equal(got, np.clip(rgba[:, :, 0] * 4 - 1, 0, 1))
    z = write(tmp_path / "z.exr", rgba[:, :, :1], ("Z",))
    with pytest.raises(InvalidField, match="channels Z") as err:
        plates.read_mask(z)
    assert err.value.field == "mask"


def test_mask_must_share_the_plate_display_window(tmp_path: Path) -> None:
    plate = write(tmp_path / "p.exr", pattern(16, 8), RGB)
    mask = write(tmp_path / "m.exr", pattern(16, 8, 1), ("A",), display=(0, 0, 32, 8))
    plates.require_same_format(plates.read_info(plate), plates.read_info(plate))
    with pytest.raises(InvalidField, match="display window") as err:
        plates.require_same_format(plates.read_info(plate), plates.read_mask_info(mask))
    assert err.value.field == "mask"


# --- the shared corpus of real files ----------------------------------------------------

EXPECTED_REFUSALS = {
    "Damaged_oom_exr.bin": "damaged or truncated",
    "v1.7.test.tiled.exr": "channels G, Z",
    "11.deep.exr": "deep",
    "unfinished_multipart.exr": "channels Z",
    "flaga.exr": "layers it would accept: Warstwa 1, Warstwa 2",
}


def test_every_corpus_file_reads_or_is_refused_cleanly(shared_dir: Path) -> None:
    import OpenImageIO as oiio

    folder = shared_dir / "corpus" / "exr"
    files = sorted(p for p in folder.iterdir() if p.name != "SOURCES.tsv")
    assert files, f"no files in {folder}"
    read: dict[str, np.ndarray] = {}
    for path in files:
        expected = next((v for k, v in EXPECTED_REFUSALS.items() if path.name.endswith(k)), None)
        try:
            image = plates.read_frame(path, warn=lambda _: None)
        except InvalidInput as err:
            assert expected is not None, f"{path.name} was refused: {err}"
            assert expected in str(err) and path.name in str(err)
            continue
        assert expected is None, f"{path.name} should have been refused ({expected})"
        info = plates.read_info(path)
        assert image.shape == (info.format.height, info.format.width, 4)
        assert np.isfinite(image).all()
        read[path.name.split("__")[-1]] = image

    def raw(name: str, level: int = 0) -> np.ndarray:
        inp = oiio.ImageInput.open(str(next(folder.glob(f"*{name}"))))
        pixels = inp.read_image(0, level, 0, inp.spec().nchannels, oiio.FLOAT)
        inp.close()
        return np.asarray(pixels)

    # data window (30,40)-(429,339) inside display (0,0)-(500,400)
    t08 = read["DisplayWindow_t08.exr"]
    np.testing.assert_array_equal(t08[40:340, 30:430, :3], raw("t08.exr"))
    assert t08[:40].sum() == 0 and t08[:, :30].sum() == 0 and t08[340:].sum() == 0
    # display (-40,-40)-(440,330), data (0,0)-(399,299), pixel aspect 2/3
    t16 = read["DisplayWindow_t16.exr"]
    info = plates.read_info(next(folder.glob("*t16.exr")))
    assert info.format == Format(481, 371) and abs(info.pixel_aspect - 2 / 3) < 1e-6
    np.testing.assert_array_equal(t16[40:340, 40:440, :3], raw("t16.exr"))
    # each MIP level a different colour: the top level is the one read
    levels = read["MultiResolution_ColorCodedLevels.exr"]
    np.testing.assert_array_equal(levels, raw("ColorCodedLevels.exr"))
    assert not np.allclose(levels.mean(axis=(0, 1)), raw("ColorCodedLevels.exr", 1).mean((0, 1)))
    # every half bit pattern: non-finite ones become 0, every finite one is kept exactly
    all_half = raw("AllHalfValues.exr")
    finite = np.isfinite(all_half)
    counts: list[str] = []
    got = plates.read_frame(next(folder.glob("*AllHalfValues.exr")), warn=counts.append)
    np.testing.assert_array_equal(got[:, :, :3][finite], all_half[finite])
    assert (got[:, :, :3][~finite] == 0).all()
    assert f"{int((~finite).sum())} NaN/Inf" in counts[0]
    # DWAB decoded (compare with the decoder's own output) and the uint id channel ignored
    np.testing.assert_array_equal(read["src_test_OpenEXRTest_comp_dwab_v1.exr"], raw("dwab_v1.exr"))
    np.testing.assert_array_equal(
        read["src_wrappers_python_tests_manifest_id.exr"], raw("manifest_id.exr")[:, :, :4]
    )
    # layer names with spaces: refused as rgba (names the layers), read by layer name
    flaga = next(folder.glob("*flaga.exr"))
    layer_two = plates.read_frame(flaga, "Warstwa 2")
    inp = oiio.ImageInput.open(str(flaga))
    names = list(inp.spec().channelnames)
    inp.close()
    want = raw("flaga.exr")[:, :, [names.index(f"Warstwa 2.{c}") for c in RGBA]]
    np.testing.assert_array_equal(layer_two, want)


def test_garbled_header_text_and_absurd_pixel_aspect_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "names.exr", pattern(8, 8), RGB)
    header = bytearray(path.read_bytes())
    at = header.index(b"channels\x00chlist\x00")
    header[at + 9] = 0xFF  # the reader's error message now holds bytes that are not UTF-8
    garbled = tmp_path / "garbled.exr"
    garbled.write_bytes(bytes(header))
    with pytest.raises(InvalidField, match="damaged or truncated") as err:
        plates.read_frame(garbled)
    assert "not valid UTF-8" in str(err.value)
    names = write_multipart(
        tmp_path / "parts.exr",
        [("depth", ("Z",), pattern(8, 8, 1)), ("beauty", RGB, pattern(8, 8))],
    )
    header = bytearray(names.read_bytes())
    header[header.index(b"depth")] = 0xFF
    header[header.index(b"Z\x00")] = 0xFE
    renamed = tmp_path / "renamed.exr"
    renamed.write_bytes(bytes(header))
    info = plates.read_info(renamed)
    assert info.parts == ("\ufffdepth", "beauty")
    with pytest.raises(InvalidField) as err:
        plates.read_frame(renamed, "depth")
    str(err.value).encode("utf-8")  # printable: the CLI can show it
    flat = write(tmp_path / "flat.exr", pattern(8, 8), RGB, pixel_aspect=1000.0)
    with pytest.raises(InvalidField, match="pixel aspect ratio"):
        plates.read_info(flat)


FUZZ = """
import random, sys
from pathlib import Path
from genvfx.media import plates
from genvfx.errors import InvalidInput
base = Path(sys.argv[1]).read_bytes()
rng = random.Random(5)
outcome = {"read": 0, "refused": 0}
for i in range(int(sys.argv[2])):
    data = bytearray(base)
    for _ in range(rng.randint(1, 6)):
        data[rng.randrange(min(len(data), 700))] = rng.randrange(256)
    mutant = Path(sys.argv[3]) / f"mutant{i}.exr"
    mutant.write_bytes(bytes(data))
    try:
        plates.read_frame(mutant, warn=lambda _: None)
        plates.read_mask(mutant, warn=lambda _: None)
        outcome["read"] += 1
    except InvalidInput:
        outcome["refused"] += 1
print(outcome)
"""


def test_mutated_headers_are_read_or_refused_never_a_crash_or_hang(tmp_path: Path) -> None:
    import ast
    import subprocess
    import sys

    source = write_multipart(
        tmp_path / "source.exr",
        [("depth", ("Z",), pattern(24, 16, 1)), ("beauty", RGBA, pattern(24, 16, 4))],
    )
    done = subprocess.run(
        [sys.executable, "-c", FUZZ, str(source), "150", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    outcome = ast.literal_eval(done.stdout.strip())
    assert outcome["read"] + outcome["refused"] == 150 and outcome["refused"] > 0


def test_a_still_image_serves_every_frame_and_other_formats_read_too(tmp_path: Path) -> None:
    import OpenImageIO as oiio

    still = tmp_path / "still.tif"
    data = pattern(16, 8, 3, seed=20) / 8
    buf = oiio.ImageBuf(np.ascontiguousarray(data))
    assert buf.write(str(still), oiio.FLOAT), buf.geterror()
    opened = plates.open_plate(str(still), FrameRange(1001, 1003))
    assert opened.info.file_format == "tiff"
    for _, frame in opened:
        np.testing.assert_array_equal(frame[:, :, :3], data)
