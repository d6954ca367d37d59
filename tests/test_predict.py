"""``python -m piltools predict``: the geometry of predictions on a user's images, the outputs, bad input.

Geometry, not accuracy: a smoke-trained model (one per module, seconds) is barely trained, so the tests
compare its predictions with themselves under a change of image frame, and a stub "model" whose heatmaps
are the input's brightness checks that a bright spot is found where it is in the original image.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from piltools.__main__ import main
from piltools.datasets.records import person_center_scale
from piltools.datasets.specs import get_spec
from piltools.datasets.transforms import PAD_VALUE
from piltools.experiments import get_experiment
from piltools.joints import IGNORE_LABEL
from piltools.lipcsv import read_lip_csv
from piltools.models.output import PoseOutput
from piltools.predict import CSV_NAME, Predictor, make_crop, parse_box, predict_files
from piltools.runs import RunResult
from piltools.training import run_experiment

NAME = "table1/vgg16-pil"  # a PIL model: joints and parsing
LIP_IMAGE = "86_185913.jpg"  # the real LIP val image (grayscale JPEG, 130 x 377) with a ground-truth row


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return run_experiment(NAME, "smoke", seed=0, out=tmp_path_factory.mktemp("runs"), quiet=True)


@pytest.fixture
def lip_image(realdata: Path) -> Path:
    return realdata / "lip" / "val_images" / LIP_IMAGE


def _predict(run: RunResult, out: Path, *args: str) -> int:
    return main(["predict", *args, "--run", str(run.run_dir), "--out", str(out), "--quiet"])


def _joints(out: Path, stem: str) -> np.ndarray:
    """(K, 3) x, y, confidence from a prediction JSON."""
    record = json.loads((out / f"{stem}.json").read_text())
    return np.array([[j["x"], j["y"], j["confidence"]] for j in record["joints"]])


def _cell(run: RunResult, box_side: float) -> float:
    """One heatmap cell in original pixels: stride / zoom, zoom = input size / (box side x margin)."""
    cfg = run.config
    stride = 8  # VGG16 heatmaps
    return stride * box_side * get_spec(cfg.data.kind).crop_margin / cfg.data.input_size


def _one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# ---------------------------------------------------------------------------- the crop
def test_without_a_box_the_crop_is_the_val_loaders_for_a_person_filling_the_image() -> None:
    crop = make_crop((377, 130), input_size=64, margin=1.25)
    # the whole image is the box 0, 0, W, H: centre ((W - 1) / 2, (H - 1) / 2) = (64.5, 188), scale 377 / 200
    assert crop.center.tolist() == [64.5, 188.0] and crop.scale == pytest.approx(1.885)
    assert crop.box == (0.0, 0.0, 130.0, 377.0) and not crop.box_given
    # the loader's rule for a LIP record whose person extent is the whole image gives the same crop
    center, scale = person_center_scale(joints=np.zeros((16, 3)), parsing=None, image_hw=(377, 130))
    assert crop.center.tolist() == center.tolist() and crop.scale == pytest.approx(scale)
    # the image centre lands on the input centre (S - 1) / 2 = 31.5
    assert crop.affine[:, :2] @ crop.center + crop.affine[:, 2] == pytest.approx([31.5, 31.5])


def test_a_box_gives_its_centre_and_longer_side() -> None:
    crop = make_crop((377, 130), input_size=64, margin=1.25, box=(10, 40, 100, 300))
    # pixel centres 10 .. 109 and 40 .. 339: centre (59.5, 189.5), scale 300 / 200
    assert crop.center.tolist() == [59.5, 189.5] and crop.scale == 1.5 and crop.box_given


@pytest.mark.parametrize("text, expected", [("10,20,30,40", (10, 20, 30, 40)), ("0.5, 1 ,2.5,3", (0.5, 1, 2.5, 3))])
def test_box_argument_parses(text: str, expected: tuple) -> None:
    assert parse_box(text) == expected


# ---------------------------------------------------------------------------- a stub model: exact geometry
class BrightnessModel(nn.Module):
    """Every joint's heatmap is the input's brightness (above ~191) averaged per stride-4 cell; the parsing is class 1 on
    bright pixels (value > ~191) and 0 elsewhere, so a bright spot is every joint and a parsing blob."""

    stride = 4
    has_parsing = True

    def __init__(self, num_joints: int) -> None:
        super().__init__()
        self.num_joints = num_joints

    def forward(self, images: torch.Tensor) -> PoseOutput:
        bright = images.mean(dim=1, keepdim=True)  # (N, 1, S, S), pixel / 255 - 0.5
        spot = (bright - 0.25).clamp(min=0)  # only bright pixels: not the dark image, not the pad value 128
        heat = F.avg_pool2d(spot, self.stride).repeat(1, self.num_joints, 1, 1)  # (N, K, S/4, S/4)
        parsing = torch.cat([torch.full_like(bright, 0.25), bright], dim=1)  # (N, 2, S, S)
        return PoseOutput(heatmaps=[heat], parsing=parsing)


def _spot_image(height: int, width: int, x: int, y: int) -> np.ndarray:
    image = np.zeros((height, width, 3), dtype=np.uint8)
    image[y - 2:y + 3, x - 2:x + 3] = 255  # a 5 x 5 white square centred on (x, y)
    return image


@pytest.mark.parametrize("box", [None, (40, 70, 40, 60)])
def test_a_bright_spot_is_found_where_it_is_in_the_original_image(tmp_path: Path, box: tuple | None) -> None:
    cfg = get_experiment(NAME, "smoke")
    predictor = Predictor(model=BrightnessModel(16), cfg=cfg)
    image_path = tmp_path / "in" / "spot.png"
    image_path.parent.mkdir()
    cv2.imwrite(str(image_path), _spot_image(150, 90, x=60, y=100))
    predict_files(predictor, [image_path], tmp_path / "out", box=box, quiet=True)
    joints = _joints(tmp_path / "out", "spot")
    # one cell in original pixels = 4 * (box side * 1.25) / 64: 11.7 px for the whole image (side 150),
    # 4.7 px for the box (side 60); a position off by the crop affine would be off by much more
    cell = 4 * (150 if box is None else 60) * 1.25 / 64
    assert np.abs(joints[:, :2] - [60, 100]).max() <= cell
    # the CSV holds the same coordinates (3 decimals)
    row = read_lip_csv(tmp_path / "out" / CSV_NAME)["spot.png"]
    assert np.allclose(row.joints[:, :2], joints[:, :2], atol=1e-3)
    # parsing mapped back: the spot is class 1, the dark image around it 0, beyond the crop nothing
    prediction = predictor.predict(cv2.cvtColor(cv2.imread(str(image_path)), cv2.COLOR_BGR2RGB), "spot.png", box)
    assert prediction.parsing.shape == (150, 90) and prediction.parsing[100, 60] == 1
    assert prediction.parsing[75, 45] == 0
    if box is not None:  # crop side 75 around (59.5, 99.5): x in [22, 97), y in [62, 137)
        assert prediction.parsing[5, 5] == IGNORE_LABEL and prediction.parsing[145, 60] == IGNORE_LABEL


# ---------------------------------------------------------------------------- the real model on real images
@pytest.mark.realdata
def test_padding_and_rescaling_the_image_moves_the_joints_with_it(trained: RunResult, lip_image: Path,
                                                                  tmp_path: Path) -> None:
    image = cv2.imread(str(lip_image))  # (377, 130, 3)
    box = (10, 40, 110, 300)
    border, factor = 20, 1.5
    # border in the crop's pad value, so the crop sees the same pixels; cv2.resize keeps pixel centres
    # aligned: x -> (x + border + 0.5) * 1.5 - 0.5, and the box edges x - 0.5 -> (x + border) * 1.5 - 0.5
    padded = cv2.copyMakeBorder(image, border, border, border, border, cv2.BORDER_CONSTANT,
                                value=(PAD_VALUE,) * 3)
    big = cv2.resize(padded, None, fx=factor, fy=factor, interpolation=cv2.INTER_LINEAR)
    assert big.shape[:2] == (round(417 * factor), round(170 * factor))
    cv2.imwrite(str(tmp_path / "big.png"), big)
    big_box = ((box[0] + border) * factor, (box[1] + border) * factor, box[2] * factor, box[3] * factor)
    assert _predict(trained, tmp_path / "a", str(lip_image), "--box", ",".join(map(str, box))) == 0
    assert _predict(trained, tmp_path / "b", str(tmp_path / "big.png"), "--box", ",".join(map(str, big_box))) == 0
    a = _joints(tmp_path / "a", "86_185913")
    b = _joints(tmp_path / "b", "big")
    back = (b[:, :2] + 0.5) / factor - 0.5 - border  # the big image's pixels -> the original's
    assert np.abs(back - a[:, :2]).max() <= _cell(trained, box_side=300)  # 8 * 375 / 64 = 46.9 px
    # and not trivially: the raw coordinates of the two images differ by the frame change
    assert np.abs(b[:, :2] - a[:, :2]).min() > border


@pytest.mark.realdata
def test_with_the_flip_test_a_mirrored_image_gives_mirrored_joints(trained: RunResult, lip_image: Path,
                                                                   tmp_path: Path) -> None:
    # The flip test averages the image and its mirror, so the model's own asymmetry cancels: for the whole
    # image (centre (W - 1) / 2 is on the mirror axis) the mirrored image's joint k is at W - 1 - x of the
    # image's joint flip_perm[k], exactly. Without --flip a barely trained model is not symmetric: untestable.
    image = cv2.imread(str(lip_image))
    cv2.imwrite(str(tmp_path / "mirror.png"), image[:, ::-1])
    assert _predict(trained, tmp_path / "out", str(lip_image), str(tmp_path / "mirror.png"), "--flip") == 0
    a = _joints(tmp_path / "out", "86_185913")
    m = _joints(tmp_path / "out", "mirror")
    perm = list(get_spec("lip").joint_flip_perm)
    width = image.shape[1]
    assert np.allclose(width - 1 - m[:, 0], a[perm, 0], atol=1e-6)
    assert np.allclose(m[:, 1], a[perm, 1], atol=1e-6)
    assert np.allclose(m[:, 2], a[perm, 2], atol=1e-5)  # and the same confidences


@pytest.mark.realdata
def test_outputs_and_the_csv_round_trip_through_evaluate_lip(trained: RunResult, realdata: Path, lip_image: Path,
                                                             tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out"
    assert _predict(trained, out, str(lip_image)) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary == {"images": 1, "out": str(out), "csv": str(out / CSV_NAME)}
    record = json.loads((out / "86_185913.json").read_text())
    assert (record["width"], record["height"]) == (130, 377)
    assert [j["name"] for j in record["joints"]] == list(get_spec("lip").joint_names)
    assert record["crop"]["box"] == [0, 0, 130, 377] and record["run_dir"] == str(trained.run_dir)
    overlay = cv2.imread(str(out / "86_185913_overlay.png"))
    assert overlay.shape == (377, 130, 3) and not np.array_equal(overlay, cv2.imread(str(lip_image)))
    gt_line = next(line for line in (realdata / "lip" / "lip_val_groundtruth.csv").read_text().splitlines()
                   if line.startswith(LIP_IMAGE + ","))
    (tmp_path / "gt.csv").write_text(gt_line + "\n")
    assert main(["evaluate-lip", str(out / CSV_NAME), str(tmp_path / "gt.csv"), "--json"]) == 0
    table = json.loads(capsys.readouterr().out)
    assert table["images"] == 1
    pred = read_lip_csv(out / CSV_NAME)[LIP_IMAGE].joints
    assert np.allclose(pred[:, :2], _joints(out, "86_185913")[:, :2], atol=1e-3)


@pytest.mark.realdata
def test_a_folder_predicts_every_image_in_it(trained: RunResult, realdata: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _predict(trained, out, str(realdata / "mpii")) == 0
    stems = sorted(p.stem for p in (realdata / "mpii").glob("*.jpg"))
    assert len(stems) == 5
    assert sorted(p.stem for p in out.glob("*.json")) == stems
    assert sorted(p.name for p in out.glob("*_overlay.png")) == [f"{s}_overlay.png" for s in stems]
    assert sorted(read_lip_csv(out / CSV_NAME)) == [f"{s}.jpg" for s in stems]


# ---------------------------------------------------------------------------- bad input
def _bad(capsys: pytest.CaptureFixture, argv: list[str]) -> str:
    assert main(argv) == 2
    line = _one_line(capsys.readouterr().err)
    assert line.startswith("piltools predict: ")
    return line


def test_a_file_that_is_not_an_image(trained: RunResult, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    notes = tmp_path / "notes.jpg"
    notes.write_text("not an image\n")
    line = _bad(capsys, ["predict", str(notes), "--run", str(trained.run_dir), "--out", str(tmp_path / "o")])
    assert str(notes) in line and "cannot decode image" in line


def test_an_empty_folder_and_a_missing_image(trained: RunResult, tmp_path: Path,
                                             capsys: pytest.CaptureFixture) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("no images here")
    line = _bad(capsys, ["predict", str(empty), "--run", str(trained.run_dir)])
    assert f"folder {empty} holds no images" in line
    line = _bad(capsys, ["predict", str(tmp_path / "gone.jpg"), "--run", str(trained.run_dir)])
    assert f"image {tmp_path / 'gone.jpg'} does not exist" in line


def test_two_images_of_the_same_name(trained: RunResult, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        cv2.imwrite(str(tmp_path / folder / "x.png"), np.zeros((8, 8, 3), np.uint8))
    line = _bad(capsys, ["predict", str(tmp_path / "a"), str(tmp_path / "b" / "x.png"), "--run",
                         str(trained.run_dir)])
    assert "have the same name 'x'" in line


def test_a_run_without_a_checkpoint_or_config(trained: RunResult, tmp_path: Path,
                                              capsys: pytest.CaptureFixture) -> None:
    image = tmp_path / "i.png"
    cv2.imwrite(str(image), np.zeros((8, 8, 3), np.uint8))
    run = tmp_path / "runs" / trained.run_dir.name  # same run id, so the checkpoint check is the one failing
    run.mkdir(parents=True)
    shutil.copy(trained.run_dir / "config.json", run / "config.json")
    line = _bad(capsys, ["predict", str(image), "--run", str(run)])
    assert str(run / "last.pt") in line and "train table1/vgg16-pil" in line
    line = _bad(capsys, ["predict", str(image), "--run", str(tmp_path)])
    assert f"run {tmp_path} has no config.json" in line
    line = _bad(capsys, ["predict", str(image), "--experiment", NAME, "--scale", "smoke", "--runs",
                         str(tmp_path / "none")])
    assert "last.pt" in line and str(tmp_path / "none") in line


def test_run_and_experiment_both_or_neither(trained: RunResult, tmp_path: Path,
                                            capsys: pytest.CaptureFixture) -> None:
    image = str(tmp_path / "i.png")
    line = _bad(capsys, ["predict", image, "--run", str(trained.run_dir), "--experiment", NAME, "--scale", "smoke"])
    assert "exactly one of --run RUN_DIR and --experiment" in line and "(got both)" in line
    line = _bad(capsys, ["predict", image])
    assert "(got neither)" in line
    line = _bad(capsys, ["predict", image, "--experiment", NAME])
    assert f"--experiment {NAME} needs --scale" in line


@pytest.mark.parametrize("box", ["10,20,30", "a,b,c,d", "1,2,0,4", "1,2,3,-4", "1,2,3,nan", ""])
def test_a_malformed_box(trained: RunResult, tmp_path: Path, capsys: pytest.CaptureFixture, box: str) -> None:
    line = _bad(capsys, ["predict", str(tmp_path / "i.png"), "--run", str(trained.run_dir), f"--box={box}"])
    assert f"--box {box!r}: expected x,y,w,h" in line


@pytest.mark.parametrize("box", ["-1,0,4,4", "0,0,9,4", "5,6,4,4", "100,100,4,4"])
def test_a_box_outside_the_image(trained: RunResult, tmp_path: Path, capsys: pytest.CaptureFixture,
                                 box: str) -> None:
    image = tmp_path / "small.png"
    cv2.imwrite(str(image), np.zeros((9, 8, 3), np.uint8))  # 8 wide, 9 high
    line = _bad(capsys, ["predict", str(image), "--run", str(trained.run_dir), f"--box={box}",
                         "--out", str(tmp_path / "o")])
    assert "is not inside small.png (8x9 pixels)" in line


def test_user_images_are_read_upright_by_their_exif_orientation(tmp_path: Path) -> None:
    """A phone photo stored sideways (EXIF orientation 6 = rotate 90 degrees clockwise to view) is predicted as
    it was taken: the stored 60 (W) x 40 (H) pixels become a 40 (W) x 60 (H) image; the datasets keep the stored
    frame, in which their annotations are."""
    from PIL import Image

    from piltools.datasets.imageio import read_rgb_image

    stored = np.zeros((40, 60, 3), dtype=np.uint8)
    stored[0, 0] = 255  # a bright stored top-left corner
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation
    path = tmp_path / "sideways.png"
    Image.fromarray(stored).save(path, exif=exif)
    assert read_rgb_image(path).shape == (40, 60, 3)
    upright = read_rgb_image(path, upright=True)
    assert upright.shape == (60, 40, 3)
    # rotating 90 degrees clockwise moves the stored top-left corner to the top-right
    assert upright[0, -1].max() == 255 and upright[0, 0].max() == 0
