"""Pose (and parsing) of a trained model on a user's own images, in the images' own pixels.

The crop is exactly the one the validation loader takes (the ``eval``
augmentation preset: no rotation, zoom, shift or flip; docs/conventions.md,
Crops and the affine): a square of side ``200 * scale * margin`` original pixels
around ``center``, resized to the model's ``S x S`` input, padded with the
pad value where it leaves the image. The person is given as a box
``x, y, w, h`` in original pixels: the top-left pixel ``(x, y)`` and the size,
so the box covers pixel centres ``x .. x + w - 1`` (docs/conventions.md,
Pixels). Its centre is ``(x + (w - 1) / 2, y + (h - 1) / 2)`` and its scale
``max(w, h) / 200``, the rule :func:`piltools.datasets.records.person_center_scale`
applies to a person's extent. Without a box the whole image is the box
``0, 0, W, H``: centre = image centre, scale from the longer side, which is what
the validation loader does for a LIP person that fills its image.

The margin is the dataset's (:attr:`DatasetSpec.crop_margin
<piltools.datasets.specs.DatasetSpec>`, 1.25 for single-person data); for a
multi-person model given a box, the margin of people cut out one by one
(:data:`~piltools.datasets.specs.PERSON_CROP_MARGIN`).

Joints: the final heatmaps averaged over the run's evaluation scales (and the
flip test when asked), argmax with the quarter-cell shift, mapped back with
the inverse crop affine (:mod:`piltools.decoding`); the confidence of a joint
is its heatmap peak value. One joint per channel: a multi-person model gives
its strongest detection of each joint. Parsing (models with a parsing branch):
the argmax of the single-scale parsing logits (no flip, as in the evaluation's
mIoU), warped back to the original image with nearest neighbour; pixels outside
the crop get :data:`~piltools.joints.IGNORE_LABEL`.

Outputs of :func:`predict_files`, per image ``NAME.EXT``: ``NAME_overlay.png``
(parsing, skeleton) and ``NAME.json`` (joints in original pixels with
confidences, the crop), and one LIP-format CSV for all images
(``predictions.csv``, read by ``python -m piltools evaluate-lip``) for models
with the 16 LIP / MPII joints.
"""
from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from piltools.config import ExperimentConfig, load_config
from piltools.datasets.imageio import read_rgb_image
from piltools.datasets.specs import PERSON_CROP_MARGIN, DatasetSpec, get_spec
from piltools.datasets.transforms import make_affine, normalize, warp_image, warp_labels_back
from piltools.decoding import decode_heatmaps, predict_heatmaps, to_original
from piltools.errors import InputError
from piltools.experiments import get_experiment
from piltools.joints import IGNORE_LABEL, NUM_JOINTS
from piltools.lipcsv import LipRow, write_lip_csv
from piltools.training import load_trained_model, run_dir_of
from piltools.training.evaluation import size_multiple
from piltools.viz import draw_skeleton, overlay_parsing

#: file suffixes taken from a folder given as input (case-insensitive)
IMAGE_SUFFIXES: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
#: name of the LIP-format CSV holding every image's joints
CSV_NAME = "predictions.csv"
#: what the coordinates of the JSON output are
COORDINATES = "original image pixels, 0-based, pixel centres at integers (docs/conventions.md, Pixels)"

Box = tuple[float, float, float, float]


class PredictInputError(InputError):
    """Bad input to ``predict``: an image, a folder, a box, a run or the choice of run."""


@dataclass
class Crop:
    """The square crop a prediction is made in.

    Args:
        center: (2,) x, y in original pixels.
        scale: box side / 200.
        margin: crop side = 200 * scale * margin.
        box: the box it was made from, x, y, w, h (the whole image when none was given).
        box_given: whether the box was given or is the whole image.
        affine: (2, 3) original -> input pixels.
    """

    center: np.ndarray
    scale: float
    margin: float
    box: Box
    box_given: bool
    affine: np.ndarray


@dataclass
class Prediction:
    """One image's prediction.

    Args:
        name: the image's file name (the LIP CSV's row name).
        joints: (K, 3) x, y in original pixels, confidence (heatmap peak).
        parsing: (H, W) uint8 parsing ids in original pixels (IGNORE_LABEL outside the crop), or None.
        crop: the crop the model saw.
        image_hw: (H, W) of the image.
    """

    name: str
    joints: np.ndarray
    parsing: np.ndarray | None
    crop: Crop
    image_hw: tuple[int, int]


def parse_box(text: str) -> Box:
    """``--box x,y,w,h`` as four floats with positive ``w``, ``h``; anything else raises :class:`PredictInputError`.

    Args:
        text: the argument as typed.
    """
    parts = text.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 4 or not all(math.isfinite(v) for v in values) or values[2] <= 0 or values[3] <= 0:
        raise PredictInputError(f"--box {text!r}: expected x,y,w,h: four numbers (top-left pixel x, y, then "
                                "width and height > 0, in the image's pixels), e.g. --box 10,20,120,300")
    return values[0], values[1], values[2], values[3]


def check_box(box: Box, image_hw: tuple[int, int], where: str) -> None:
    """Raise :class:`PredictInputError` unless ``box`` lies inside an image of size ``image_hw``.

    Args:
        box: x, y, w, h (top-left pixel and size).
        image_hw: (H, W) of the image.
        where: the image, named in the message.
    """
    x, y, w, h = box
    height, width = image_hw
    if not (x >= 0 and y >= 0 and x + w <= width and y + h <= height):
        raise PredictInputError(f"--box {x:g},{y:g},{w:g},{h:g} is not inside {where} ({width}x{height} pixels): "
                                f"expected 0 <= x, 0 <= y, x + w <= {width}, y + h <= {height}")


def make_crop(image_hw: tuple[int, int], input_size: int, margin: float, box: Box | None = None) -> Crop:
    """The validation crop of a person in ``box`` (None: the whole image), see the module docstring.

    Args:
        image_hw: (H, W) of the image.
        input_size: the model's input side S.
        margin: crop side = 200 * scale * margin.
        box: x, y, w, h in original pixels, or None.
    """
    height, width = image_hw
    given = box is not None
    x, y, w, h = box if given else (0.0, 0.0, float(width), float(height))
    center = np.array([x + (w - 1) / 2.0, y + (h - 1) / 2.0], dtype=np.float64)
    scale = max(w, h) / 200.0
    affine = make_affine(center=center, scale=scale, input_size=input_size, box_margin=margin)
    return Crop(center=center, scale=scale, margin=margin, box=(float(x), float(y), float(w), float(h)),
                box_given=given, affine=affine)


class Predictor:
    """A trained model and the evaluation protocol of its run, applied to single images.

    Args:
        model: the run's model in eval mode (:func:`piltools.training.load_trained_model`).
        cfg: the run's config (dataset kind, input size, evaluation scales).
        device: where the model lives.
        flip: average with the flipped image (the flip test).
    """

    def __init__(self, *, model: nn.Module, cfg: ExperimentConfig, device: str = "cpu", flip: bool = False) -> None:
        self.model = model
        self.cfg = cfg
        self.device = device
        self.flip = flip
        self.spec: DatasetSpec = get_spec(cfg.data.kind)

    def margin(self, box_given: bool) -> float:
        """Crop margin: the dataset's, or a single person's for a multi-person model given a box."""
        return PERSON_CROP_MARGIN if (box_given and self.spec.multi_person) else self.spec.crop_margin

    @torch.no_grad()
    def predict(self, image: np.ndarray, name: str, box: Box | None = None) -> Prediction:
        """Predict one uint8 RGB (H, W, 3) image.

        Args:
            image: the image.
            name: its file name.
            box: the person, x, y, w, h in the image's pixels (None: the whole image).
        """
        image_hw = (int(image.shape[0]), int(image.shape[1]))
        if box is not None:
            check_box(box, image_hw, name)
        size = self.cfg.data.input_size
        crop = make_crop(image_hw, size, self.margin(box is not None), box)
        batch = normalize(warp_image(image, crop.affine, size))[None].to(self.device)  # (1, 3, S, S)
        if self.cfg.train.channels_last:
            batch = batch.contiguous(memory_format=torch.channels_last)
        flip_perm = list(self.spec.joint_flip_perm) if self.flip else None
        heatmaps = predict_heatmaps(self.model, batch, flip_perm=flip_perm, scales=tuple(self.cfg.train.eval_scales),
                                    size_multiple=size_multiple(self.model))
        coords = decode_heatmaps(heatmaps, stride=self.model.stride, num_joints=self.spec.num_joints).cpu()
        orig = to_original(coords[..., :2].double().numpy(), crop.affine[None])  # (1, K, 2)
        joints = np.concatenate([orig[0], coords[0, :, 2:].double().numpy()], axis=1)  # (K, 3) x, y, score
        parsing = None
        if getattr(self.model, "has_parsing", False):
            labels = self.model(batch).parsing.argmax(dim=1)[0].cpu().numpy().astype(np.uint8)  # (S, S)
            parsing = warp_labels_back(labels, crop.affine, image_hw)
        return Prediction(name=name, joints=joints, parsing=parsing, crop=crop, image_hw=image_hw)


def draw_prediction(image: np.ndarray, prediction: Prediction, kind: str) -> np.ndarray:
    """The overlay: parsing colours (where predicted) under the skeleton, on a copy of ``image``.

    Args:
        image: uint8 RGB (H, W, 3), the image predicted.
        prediction: its prediction.
        kind: dataset kind of the model (skeleton, palette).
    """
    out = image
    if prediction.parsing is not None:
        labels = prediction.parsing.copy()
        labels[labels == IGNORE_LABEL] = 0  # outside the crop: nothing predicted, nothing drawn
        out = overlay_parsing(out, labels, kind=kind)
    side = max(prediction.image_hw)
    joints = np.concatenate([prediction.joints[:, :2], np.ones((len(prediction.joints), 1))], axis=1)
    return draw_skeleton(out, joints, radius=max(2, round(side / 120)), thickness=max(1, round(side / 250)),
                         kind=kind)


def prediction_record(prediction: Prediction, spec: DatasetSpec, source: dict[str, Any]) -> dict[str, Any]:
    """The JSON written beside the overlay.

    Args:
        prediction: one image's prediction.
        spec: the model's dataset spec (joint names).
        source: what made it (the run, the flip test).
    """
    height, width = prediction.image_hw
    crop = prediction.crop
    return {
        "image": prediction.name, "width": width, "height": height, "coordinates": COORDINATES,
        "joints": [{"name": n, "x": float(x), "y": float(y), "confidence": float(c)}
                   for n, (x, y, c) in zip(spec.joint_names, prediction.joints)],
        "crop": {"box": list(crop.box), "box_given": crop.box_given, "center": crop.center.tolist(),
                 "scale": crop.scale, "margin": crop.margin, "affine": crop.affine.tolist()},
        **source,
    }


def collect_images(inputs: Sequence[str | Path]) -> list[Path]:
    """The image files to predict: each file as given, each folder's images (sorted by name).

    Raises:
        PredictInputError: an input that does not exist, a folder without images, two images of the same
            name without suffix (the outputs are named after it).
    """
    files: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            found = sorted(p for p in item.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise PredictInputError(f"folder {item} holds no images; expected files ending in "
                                        f"{', '.join(IMAGE_SUFFIXES)}")
            files += found
        elif item.is_file():
            files.append(item)
        else:
            raise PredictInputError(f"image {item} does not exist; expected an image file or a folder of images")
    seen: dict[str, Path] = {}
    for path in files:
        if path.stem in seen:
            raise PredictInputError(f"images {seen[path.stem]} and {path} have the same name {path.stem!r}; the "
                                    "outputs are named after it: rename one or predict them separately")
        seen[path.stem] = path
    return files


def resolve_run(*, run_dir: str | Path | None = None, experiment: str | None = None, scale: str | None = None,
                seed: int = 0, runs: str | Path = "results/runs") -> tuple[ExperimentConfig, Path]:
    """The config and directory of the run to predict with: ``run_dir`` or ``experiment`` at ``scale``.

    Args:
        run_dir: a run directory (holding ``config.json``).
        experiment: a named experiment (with ``scale`` and ``seed``), found under ``runs``.
        scale: its scale.
        seed: its seed.
        runs: runs folder of ``experiment``.

    Raises:
        PredictInputError: both or neither of ``run_dir`` and ``experiment``, an experiment without a scale,
            a run directory without ``config.json``.
    """
    if (run_dir is None) == (experiment is None):
        raise PredictInputError("give exactly one of --run RUN_DIR and --experiment NAME --scale S (got "
                                f"{'both' if run_dir is not None else 'neither'})")
    if experiment is not None:
        if scale is None:
            raise PredictInputError(f"--experiment {experiment} needs --scale (smoke, cpu or paper)")
        cfg = get_experiment(experiment, scale, seed)
        return cfg, run_dir_of(cfg, runs)
    path = Path(run_dir)
    config = path / "config.json"
    if not config.is_file():
        raise PredictInputError(f"run {path} has no config.json; expected a run directory written by "
                                "`python -m piltools train` (<runs>/<scale>/<experiment>/<run id>)")
    try:
        return load_config(config), path
    except (ValueError, OSError) as err:
        raise PredictInputError(f"run {path}: config.json cannot be read ({err})") from None


def predict_files(predictor: Predictor, images: Iterable[Path], out_dir: str | Path, box: Box | None = None,
                  quiet: bool = False, source: dict[str, Any] | None = None) -> list[Prediction]:
    """Predict each image and write its overlay and JSON, and the LIP CSV of all (16-joint models).

    Args:
        predictor: the model and protocol.
        images: image files (:func:`collect_images`).
        out_dir: output folder (created).
        box: the person box, the same for every image (None: each whole image).
        quiet: no progress bar (one is shown for more than a few images).
        source: what made the predictions, copied into each JSON.

    Raises:
        CorruptImageError: a file that is not an image (named); nothing is written for the images after it.
        PredictInputError: a box outside an image.
    """
    images = list(images)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    kind = predictor.spec.kind
    results = []
    for path in tqdm(images, desc="predict", unit="image", disable=quiet or len(images) <= 3):
        image = read_rgb_image(path, upright=True)  # a phone photo stored sideways: as it was taken
        prediction = predictor.predict(image, path.name, box)
        cv2.imwrite(str(out / f"{path.stem}_overlay.png"),
                    cv2.cvtColor(draw_prediction(image, prediction, kind), cv2.COLOR_RGB2BGR))
        record = prediction_record(prediction, predictor.spec, source or {})
        (out / f"{path.stem}.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        results.append(prediction)
    if predictor.spec.num_joints == NUM_JOINTS:
        write_lip_csv(out / CSV_NAME, [LipRow.from_coords(p.name, p.joints[:, :2]) for p in results])
    return results


def load_predictor(cfg: ExperimentConfig, run_dir: Path, device: str = "cpu", flip: bool = False) -> Predictor:
    """A :class:`Predictor` with the finished model of the run ``cfg`` in ``run_dir``.

    Raises:
        CheckpointNotFoundError: the run has no checkpoint (train it first).
        CheckpointError: the checkpoint is unreadable, belongs to another run, or training has not finished.
    """
    model, _ = load_trained_model(cfg, Path(run_dir), device)
    return Predictor(model=model, cfg=cfg, device=device, flip=flip)
