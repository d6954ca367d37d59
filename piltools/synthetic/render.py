"""Rasterise people into an op-id map with a painter's algorithm, and decide joint visibility.

Every primitive is drawn ONCE, into a ``uint16`` op map; each op id carries a
LIP parsing id, a PASCAL part id, an owner (person + body segment), a material
and a shade, looked up at the end. So the image colours, both parsing maps and
the ownership used for visibility come from the very same pixels.

Depth order: the segments of a person (torso, head, neck, long hair, upper
arms, forearms with hands, thighs, shanks with feet, skirt) are sorted by the
depth of their 3-D centre and painted far to near; people of a multi-person
image are painted far to near as well, and occluders after them.

JOINT/PARSING GUARANTEE (checked by tests and relied on by the loaders' property
tests): a joint written as VISIBLE lies, at its integer pixel
``(round(y), round(x))``, on a pixel that (a) belongs to one of the body
segments adjacent to that joint of the SAME person and (b) carries one of the
parsing ids :func:`joint_part_ids` allows for that joint (e.g. a left wrist on
Left-arm or Glove, a left ankle on Left-leg or Left-shoe; PASCAL: a wrist on
lower-arm). Any annotated joint failing (a) or (b) is written as OCCLUDED
(LIP v=1, PASCAL v=2); far-side shoulders and hips that are covered by their
own torso are occluded too. Joints outside the image are MISSING. After an
affine resampling the guarantee holds up to the resampling error (allow a
1-pixel neighbourhood).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from piltools.synthetic.appearance import Outfit
from piltools.synthetic.body import BodyShape, Skeleton3D
from piltools.joints import J, NUM_JOINTS, P, PASCAL_JOINT_FROM_MPII, PASCAL_PART_LABELS

SHIFT = 4  # cv2 fractional bits
ONE = 1 << SHIFT
PP = {name: i for i, name in enumerate(PASCAL_PART_LABELS)}

# body segments of one person
SEGMENTS = ("torso", "head", "neck", "hair_back", "l_upper_arm", "l_forearm", "r_upper_arm", "r_forearm",
            "l_thigh", "l_shank", "r_thigh", "r_shank", "skirt")
S = {name: i for i, name in enumerate(SEGMENTS)}
NUM_SEGMENTS = len(SEGMENTS)

# joint -> body segments it is attached to (a visible joint must lie on one of them)
JOINT_SEGMENTS: dict[int, tuple[int, ...]] = {
    J["head_top"]: (S["head"], S["hair_back"]),
    J["neck"]: (S["head"], S["hair_back"], S["neck"]),
    J["thorax"]: (S["torso"],),
    J["pelvis"]: (S["torso"], S["l_thigh"], S["r_thigh"], S["skirt"]),
}
for _side in ("l", "r"):
    JOINT_SEGMENTS[J[f"{_side}_shoulder"]] = (S["torso"], S[f"{_side}_upper_arm"])
    JOINT_SEGMENTS[J[f"{_side}_elbow"]] = (S[f"{_side}_upper_arm"], S[f"{_side}_forearm"])
    JOINT_SEGMENTS[J[f"{_side}_wrist"]] = (S[f"{_side}_forearm"],)
    JOINT_SEGMENTS[J[f"{_side}_hip"]] = (S["torso"], S[f"{_side}_thigh"], S["skirt"])
    JOINT_SEGMENTS[J[f"{_side}_knee"]] = (S[f"{_side}_thigh"], S[f"{_side}_shank"])
    JOINT_SEGMENTS[J[f"{_side}_ankle"]] = (S[f"{_side}_shank"],)

_UPPER = {P["upper_clothes"], P["coat"], P["dress"], P["jumpsuits"]}
_LOWER = {P["pants"], P["skirt"], P["dress"], P["jumpsuits"], P["coat"], P["upper_clothes"]}


def _lip_allowed() -> dict[int, frozenset[int]]:
    allowed: dict[int, set[int]] = {
        J["head_top"]: {P["hair"], P["hat"], P["face"]},
        J["neck"]: {P["face"], P["hair"], P["scarf"]},
        J["thorax"]: _UPPER | {P["scarf"]},
        J["pelvis"]: set(_LOWER),
    }
    for side, name in (("l", "left"), ("r", "right")):
        allowed[J[f"{side}_shoulder"]] = _UPPER | {P["scarf"], P[f"{name}_arm"]}
        allowed[J[f"{side}_elbow"]] = _UPPER | {P[f"{name}_arm"]}
        allowed[J[f"{side}_wrist"]] = {P[f"{name}_arm"], P["glove"]}
        allowed[J[f"{side}_hip"]] = _LOWER | {P[f"{name}_leg"]}
        allowed[J[f"{side}_knee"]] = {P[f"{name}_leg"], P["pants"], P["jumpsuits"]}
        allowed[J[f"{side}_ankle"]] = {P[f"{name}_leg"], P[f"{name}_shoe"]}
    return {j: frozenset(v) for j, v in allowed.items()}


LIP_ALLOWED = _lip_allowed()
# PASCAL part allowed per MPII joint index
PASCAL_ALLOWED_MPII: dict[int, frozenset[int]] = {
    J["head_top"]: frozenset({PP["head"]}), J["neck"]: frozenset({PP["head"]}),
    J["thorax"]: frozenset({PP["torso"]}), J["pelvis"]: frozenset({PP["torso"]}),
}
for _side in ("l", "r"):
    PASCAL_ALLOWED_MPII[J[f"{_side}_shoulder"]] = frozenset({PP["torso"], PP["upper_arm"]})
    PASCAL_ALLOWED_MPII[J[f"{_side}_elbow"]] = frozenset({PP["upper_arm"], PP["lower_arm"]})
    PASCAL_ALLOWED_MPII[J[f"{_side}_wrist"]] = frozenset({PP["lower_arm"]})
    PASCAL_ALLOWED_MPII[J[f"{_side}_hip"]] = frozenset({PP["torso"], PP["upper_leg"]})
    PASCAL_ALLOWED_MPII[J[f"{_side}_knee"]] = frozenset({PP["upper_leg"], PP["lower_leg"]})
    PASCAL_ALLOWED_MPII[J[f"{_side}_ankle"]] = frozenset({PP["lower_leg"]})


def joint_part_ids(kind: str) -> dict[int, set[int]]:
    """Parsing ids on which a VISIBLE joint of the synthetic data may lie.

    Args:
        kind: ``"lip"`` (keys: the 16 MPII joint indices, values: LIP ids 0-19) or ``"pascal"``
            (keys: the 14 PASCAL joint indices of :data:`piltools.joints.PASCAL_JOINT_NAMES`,
            values: PASCAL part ids 0-6). ``"mpii"`` has no parsing labels and raises.

    Returns:
        ``{joint index: set of allowed parsing ids}``. See the module docstring for the guarantee.
    """
    tables = {
        "lip": lambda: {j: set(v) for j, v in LIP_ALLOWED.items()},
        "pascal": lambda: {pj: set(PASCAL_ALLOWED_MPII[mj]) for pj, mj in enumerate(PASCAL_JOINT_FROM_MPII)},
    }
    if kind not in tables:
        raise ValueError(f"joint_part_ids: kind must be one of {sorted(tables)} (mpii has no parsing), "
                         f"got {kind!r}")
    return tables[kind]()


class Canvas:
    """An op-id map plus per-op attribute tables (see the module docstring).

    Args:
        height: image height in pixels.
        width: image width in pixels.
    """

    def __init__(self, height: int, width: int) -> None:
        self.height = height
        self.width = width
        self.ops = np.zeros((height, width), dtype=np.uint16)
        # per-op attributes; op 0 = background
        self.lip: list[int] = [P["background"]]
        self.pascal: list[int] = [PP["background"]]
        self.owner: list[int] = [0]
        self.material: list[int] = [0]
        self.shade: list[float] = [1.0]

    def new_op(self, lip: int, pascal: int, owner: int, material: int, shade: float = 1.0) -> int:
        """Register an op (one label/material combination) and return its id."""
        if len(self.lip) >= 65535:
            raise ValueError("Canvas: more than 65535 ops")
        self.lip.append(lip)
        self.pascal.append(pascal)
        self.owner.append(owner)
        self.material.append(material)
        self.shade.append(shade)
        return len(self.lip) - 1

    @staticmethod
    def _fix(p: np.ndarray) -> np.ndarray:
        return np.round(np.asarray(p, dtype=np.float64) * ONE).astype(np.int32)

    def circle(self, centre: np.ndarray, radius: float, op: int) -> None:
        c = self._fix(centre)
        cv2.circle(self.ops, (int(c[0]), int(c[1])), int(round(max(radius, 0.5) * ONE)), op, -1, cv2.LINE_8,
                   SHIFT)

    def polygon(self, points: np.ndarray, op: int) -> None:
        """Fill the convex hull of ``points`` (N, 2)."""
        hull = cv2.convexHull(self._fix(points).reshape(-1, 1, 2))
        cv2.fillConvexPoly(self.ops, hull, op, cv2.LINE_8, SHIFT)

    def capsule(self, p0: np.ndarray, p1: np.ndarray, r0: float, r1: float, op: int) -> None:
        """A tapered limb: two discs joined by their tangent quad."""
        d = np.asarray(p1, dtype=np.float64) - np.asarray(p0, dtype=np.float64)
        length = float(np.hypot(*d))
        if length > 1e-6:
            n = np.array([-d[1], d[0]]) / length
            self.polygon(np.array([p0 + n * r0, p1 + n * r1, p1 - n * r1, p0 - n * r0]), op)
        self.circle(p0, r0, op)
        self.circle(p1, r1, op)

    def ellipse(self, centre: np.ndarray, axes: tuple[float, float], angle_deg: float, op: int) -> None:
        c = self._fix(centre)
        ax = (int(round(max(axes[0], 0.5) * ONE)), int(round(max(axes[1], 0.5) * ONE)))
        cv2.ellipse(self.ops, (int(c[0]), int(c[1])), ax, float(angle_deg), 0.0, 360.0, op, -1, cv2.LINE_8,
                    SHIFT)

    def lookup(self, table: list[int] | list[float], dtype: type) -> np.ndarray:
        """Per-pixel attribute map: ``table[ops]``."""
        return np.asarray(table, dtype=dtype)[self.ops]


def owner_code(person: int, segment: int) -> int:
    """Owner id of a person's segment (0 = nobody)."""
    return 1 + person * NUM_SEGMENTS + segment


@dataclass
class Projection:
    """Orthographic projection: image = offset + scale * R(roll) @ (x, -y); depth = z.

    Args:
        scale: pixels per stature unit.
        roll: in-plane rotation (radians).
        offset: (2,) image position of the pelvis.
    """

    scale: float
    roll: float
    offset: np.ndarray

    def __call__(self, points: np.ndarray) -> np.ndarray:
        """(..., 3) world points -> (..., 2) image points."""
        pts = np.asarray(points, dtype=np.float64)
        c, s = np.cos(self.roll), np.sin(self.roll)
        x, y = pts[..., 0], -pts[..., 1]
        return np.stack([c * x - s * y, s * x + c * y], axis=-1) * self.scale + self.offset

    def direction(self, vec: np.ndarray) -> np.ndarray:
        """(3,) world direction -> (2,) image direction (not normalised; length = in-plane part)."""
        c, s = np.cos(self.roll), np.sin(self.roll)
        x, y = vec[0], -vec[1]
        return np.array([c * x - s * y, s * x + c * y])


@dataclass
class RenderedPerson:
    """Geometry of a drawn person, before visibility.

    Args:
        joints2d: (16, 2) image coordinates of the MPII joints.
        depth: (16,) world depth of each joint (larger = nearer the camera).
        torso_depth: depth of the torso centre.
        torso_half_depth: torso half-depth (stature units).
        head_box: (4,) x1, y1, x2, y2 of the drawn head ellipse.
        extent: (4,) x1, y1, x2, y2 bounding box of the whole (unclipped) figure.
        stature_px: pixels per stature unit.
    """

    joints2d: np.ndarray
    depth: np.ndarray
    torso_depth: float
    torso_half_depth: float
    head_box: np.ndarray
    extent: np.ndarray
    stature_px: float


def _unit(v: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    n = float(np.hypot(*v))
    return v / n if n > 0.2 else fallback


def draw_person(canvas: Canvas, person: int, skel: Skeleton3D, shape: BodyShape, outfit: Outfit,
                proj: Projection, rng: np.random.Generator) -> RenderedPerson:
    """Paint one person into ``canvas`` (segments in depth order) and return its geometry.

    Args:
        canvas: target canvas.
        person: person index within the image (owner ids).
        skel: posed 3-D skeleton (world frame).
        shape: body proportions.
        outfit: garments and materials.
        proj: projection to image pixels.
        rng: random generator (small shading jitter only).
    """
    s = proj.scale
    j2 = proj(skel.joints)
    jz = skel.joints[:, 2].copy()
    torso_z = float(skel.torso_box[:, :, 2].mean())
    up2 = _unit(proj.direction(skel.head_up), np.array([0.0, -1.0]))
    hc = proj(skel.head_center)
    head_a, head_b = shape.head_w * s, shape.head_h * s
    # head-top and upper-neck joints sit on the drawn head ellipse's axis (inside it)
    j2[J["head_top"]] = hc + up2 * 0.8 * head_b
    j2[J["neck"]] = hc - up2 * 0.7 * head_b
    jz[J["head_top"]] = jz[J["neck"]] = skel.head_center[2]

    segments: list[tuple[float, int, list]] = []  # (depth, order, draw calls)

    def op(segment: int, lip: int, pascal: int, material: int, shade: float = 1.0) -> int:
        return canvas.new_op(lip, pascal, owner_code(person, segment), material, shade)

    def add(name: str, depth: float, calls: list) -> None:
        segments.append((depth, len(segments), calls))

    # --- torso: upper (shoulders -> waist) and lower (waist -> hips) hulls
    box2 = proj(skel.torso_box)  # (3 levels, 4 corners, 2)
    t = S["torso"]
    lower_label = outfit.upper_label if outfit.upper_label == P["coat"] else outfit.lower_label
    lower_mat = outfit.upper if outfit.upper_label == P["coat"] else outfit.lower
    if outfit.skirt and outfit.lower_label == P["skirt"]:
        lower_label, lower_mat = P["skirt"], outfit.lower
    up_op = op(t, outfit.upper_label, PP["torso"], outfit.upper)
    low_op = op(t, lower_label, PP["torso"], lower_mat)
    calls = [("polygon", box2[1:].reshape(-1, 2), low_op), ("polygon", box2[:2].reshape(-1, 2), up_op)]
    if outfit.scarf:
        nb = proj(skel.neck_base)
        calls.append(("capsule", nb, (nb + j2[J["thorax"]]) / 2, 0.05 * s, 0.045 * s,
                      op(t, P["scarf"], PP["torso"], outfit.scarf)))
    add("torso", torso_z, calls)

    # --- neck (always behind the collar) and head
    neck_op = op(S["neck"], P["face"], PP["head"], outfit.skin, 0.85)
    add("neck", torso_z - 0.05, [("capsule", proj(skel.neck_base - skel.head_up * 0.03), hc,
                                  0.55 * head_a, 0.55 * head_a, neck_op)])
    angle = float(np.degrees(np.arctan2(up2[1], up2[0]))) + 90.0  # ellipse minor axis along the head's x
    h = S["head"]
    head_calls: list = [("ellipse", hc, (head_a, head_b), angle, op(h, P["hair"], PP["head"], outfit.hair))]
    fz = float(skel.face_dir[2])
    fd2 = proj.direction(skel.face_dir)
    side2 = np.array([-up2[1], up2[0]])  # perpendicular to the head axis (image "right" when upright)
    if fz > -0.3:
        face_c = hc + fd2 * 0.45 * head_a - up2 * 0.2 * head_b
        face_ax = (head_a * (0.55 + 0.35 * max(fz, 0.0)), 0.78 * head_b)
        face_op = op(h, P["face"], PP["head"], outfit.skin)
        head_calls.append(("ellipse", face_c, face_ax, angle, face_op))
        eye_op = op(h, P["sunglasses"] if outfit.sunglasses else P["face"], PP["head"], outfit.eye)
        eye_r = max(0.6, (0.22 if outfit.sunglasses else 0.1) * head_a)
        eye_c = face_c + up2 * 0.2 * head_b
        if fz > 0.35:
            for sign in (-1.0, 1.0):
                head_calls.append(("circle", eye_c + side2 * sign * 0.36 * head_a * fz + fd2 * 0.15 * head_a,
                                   eye_r, eye_op))
            head_calls.append(("capsule", face_c - up2 * 0.42 * head_b - side2 * 0.15 * head_a * fz,
                               face_c - up2 * 0.42 * head_b + side2 * 0.15 * head_a * fz, 0.5, 0.5,
                               op(h, P["face"], PP["head"], outfit.eye, 1.3)))
        else:  # |fz| <= 0.35 here, so the face direction's in-plane length sqrt(1 - fz^2) is >= 0.93
            fdir = fd2 / float(np.hypot(*fd2))
            head_calls.append(("circle", eye_c + fdir * 0.45 * head_a, eye_r, eye_op))
            head_calls.append(("circle", hc + fdir * 0.95 * head_a, max(0.7, 0.18 * head_a), face_op))
    if outfit.hat:
        hat_op = op(h, P["hat"], PP["head"], outfit.hat)
        head_calls.append(("ellipse", hc + up2 * 0.5 * head_b, (1.1 * head_a, 0.58 * head_b), angle, hat_op))
        head_calls.append(("capsule", hc + up2 * 0.15 * head_b - side2 * 1.25 * head_a,
                           hc + up2 * 0.15 * head_b + side2 * 1.25 * head_a, 0.12 * head_b, 0.12 * head_b, hat_op))
    add("head", max(float(skel.head_center[2]), torso_z) + 0.01, head_calls)
    if outfit.long_hair:
        tail = skel.head_center - skel.head_up * shape.head_h * 2.2 - skel.face_dir * 0.05
        add("hair_back", float(tail[2]), [("capsule", hc, proj(tail), 1.05 * head_a, 0.9 * head_a,
                                          op(S["hair_back"], P["hair"], PP["head"], outfit.hair))])

    # --- limbs (side 0 = left, 1 = right)
    foot2 = proj(skel.toe)
    heel2 = proj(skel.heel)
    hand2 = proj(skel.hand_end)
    for side, (prefix, name) in enumerate((("l", "left"), ("r", "right"))):
        sho, elb, wri = (J[f"{prefix}_{n}"] for n in ("shoulder", "elbow", "wrist"))
        hip, kne, ank = (J[f"{prefix}_{n}"] for n in ("hip", "knee", "ankle"))
        far = 0.85 + 0.3 * float(np.clip((jz[sho] - torso_z) / max(shape.shoulder, 1e-6), -1, 1)) * 0.5
        # upper arm
        seg = S[f"{prefix}_upper_arm"]
        skin = op(seg, P[f"{name}_arm"], PP["upper_arm"], outfit.skin, far)
        calls = [("capsule", j2[sho], j2[elb], shape.arm_r * s, shape.fore_r * 1.05 * s, skin)]
        if outfit.sleeve > 0:
            sl = op(seg, outfit.upper_label, PP["upper_arm"], outfit.upper, far)
            end = j2[sho] + (j2[elb] - j2[sho]) * min(outfit.sleeve, 1.0)
            calls.append(("capsule", j2[sho], end, shape.arm_r * 1.2 * s, shape.fore_r * 1.25 * s, sl))
        add(f"{prefix}_upper_arm", float(jz[sho] + jz[elb]) / 2, calls)
        # forearm + hand
        seg = S[f"{prefix}_forearm"]
        skin = op(seg, P[f"{name}_arm"], PP["lower_arm"], outfit.skin, far)
        calls = [("capsule", j2[elb], j2[wri], shape.fore_r * s, shape.fore_r * 0.75 * s, skin),
                 ("capsule", j2[wri], hand2[side], shape.fore_r * 0.8 * s, shape.fore_r * 0.7 * s, skin)]
        if outfit.sleeve > 1.0:
            sl = op(seg, outfit.upper_label, PP["lower_arm"], outfit.upper, far)
            end = j2[elb] + (j2[wri] - j2[elb]) * (outfit.sleeve - 1.0)
            calls.append(("capsule", j2[elb], end, shape.fore_r * 1.25 * s, shape.fore_r * 1.1 * s, sl))
        if outfit.glove:
            gl = op(seg, P["glove"], PP["lower_arm"], outfit.glove, far)
            start = j2[wri] + (j2[elb] - j2[wri]) * 0.12
            calls.append(("capsule", start, hand2[side], shape.fore_r * 0.9 * s, shape.fore_r * 0.8 * s, gl))
        add(f"{prefix}_forearm", float(jz[elb] + jz[wri]) / 2 + 0.002, calls)
        # thigh
        seg = S[f"{prefix}_thigh"]
        lfar = 0.85 + 0.3 * float(np.clip((jz[hip] - torso_z) / max(shape.hip, 1e-6), -1, 1)) * 0.5
        skin = op(seg, P[f"{name}_leg"], PP["upper_leg"], outfit.skin, lfar)
        calls = [("capsule", j2[hip], j2[kne], shape.thigh_r * s, shape.shank_r * 1.1 * s, skin)]
        if not outfit.skirt:
            pants = op(seg, outfit.lower_label, PP["upper_leg"], outfit.lower, lfar)
            end = j2[hip] + (j2[kne] - j2[hip]) * min(outfit.leg_cover, 1.0)
            calls.append(("capsule", j2[hip], end, shape.thigh_r * 1.12 * s, shape.shank_r * 1.25 * s, pants))
        add(f"{prefix}_thigh", float(jz[hip] + jz[kne]) / 2, calls)
        # shank + foot
        seg = S[f"{prefix}_shank"]
        skin = op(seg, P[f"{name}_leg"], PP["lower_leg"], outfit.skin, lfar)
        shoe = op(seg, P[f"{name}_shoe"], PP["lower_leg"], outfit.shoes, lfar)
        calls = [("capsule", j2[kne], j2[ank], shape.shank_r * s, shape.shank_r * 0.7 * s, skin)]
        if not outfit.skirt and outfit.leg_cover > 1.0:
            pants = op(seg, outfit.lower_label, PP["lower_leg"], outfit.lower, lfar)
            end = j2[kne] + (j2[ank] - j2[kne]) * (outfit.leg_cover - 1.0)
            calls.append(("capsule", j2[kne], end, shape.shank_r * 1.25 * s, shape.shank_r * 1.05 * s, pants))
        calls.append(("capsule", heel2[side], foot2[side], shape.shank_r * 0.75 * s, shape.shank_r * 0.6 * s, shoe))
        calls.append(("circle", j2[ank], shape.shank_r * 0.8 * s, shoe))
        add(f"{prefix}_shank", float(jz[kne] + jz[ank]) / 2 + 0.002, calls)

    if outfit.skirt:
        sk = S["skirt"]
        length = outfit.leg_cover
        pts = [box2[2, c] for c in range(4)] + [box2[1, c] for c in range(4)]
        for side, prefix in enumerate(("l", "r")):
            hip, kne = J[f"{prefix}_hip"], J[f"{prefix}_knee"]
            end = j2[hip] + (j2[kne] - j2[hip]) * length
            d = _unit(j2[kne] - j2[hip], np.array([0.0, 1.0]))
            n = np.array([-d[1], d[0]])
            flare = shape.thigh_r * s * (1.3 + 0.8 * length)
            pts += [end + n * flare, end - n * flare]
        thigh_z = max(float(jz[J["l_hip"]] + jz[J["l_knee"]]), float(jz[J["r_hip"]] + jz[J["r_knee"]])) / 2
        add("skirt", max(thigh_z, torso_z) + 0.003,
            [("polygon", np.array(pts), op(sk, outfit.lower_label, PP["upper_leg"], outfit.lower))])

    for _, _, calls in sorted(segments, key=lambda item: (item[0], item[1])):
        for call in calls:
            getattr(canvas, call[0])(*call[1:])

    # geometry for annotations
    c, s_ = np.cos(np.radians(angle)), np.sin(np.radians(angle))
    half_w = np.sqrt((head_a * c) ** 2 + (head_b * s_) ** 2)
    half_h = np.sqrt((head_a * s_) ** 2 + (head_b * c) ** 2)
    head_box = np.array([hc[0] - half_w, hc[1] - half_h, hc[0] + half_w, hc[1] + half_h])
    pts = np.concatenate([j2, foot2, hand2, head_box.reshape(2, 2)])
    extent = np.concatenate([pts.min(axis=0), pts.max(axis=0)])
    return RenderedPerson(joints2d=j2, depth=jz, torso_depth=torso_z, torso_half_depth=shape.torso_d,
                          head_box=head_box, extent=extent, stature_px=s)


def joint_visibility(canvas: Canvas, person: int, rendered: RenderedPerson) -> tuple[np.ndarray, np.ndarray]:
    """Annotate one drawn person after everything in the image has been painted.

    Args:
        canvas: the final canvas (all people and occluders drawn).
        person: the person's index (owner ids).
        rendered: the person's geometry from :func:`draw_person`.

    Returns:
        joints (16, 3) x, y, valid (missing = NaN, NaN, 0 when outside the image) and occluded (16,) bool.
        Visible joints satisfy the guarantee of the module docstring.
    """
    joints = np.full((NUM_JOINTS, 3), np.nan)
    joints[:, 2] = 0.0
    occluded = np.zeros(NUM_JOINTS, dtype=bool)
    lip = np.asarray(canvas.lip)
    owner = np.asarray(canvas.owner)
    for j in range(NUM_JOINTS):
        x, y = rendered.joints2d[j]
        if not (0.0 <= x <= canvas.width - 1 and 0.0 <= y <= canvas.height - 1):
            continue
        joints[j] = (x, y, 1.0)
        op = int(canvas.ops[int(round(y)), int(round(x))])
        seg = int(owner[op]) - 1 - person * NUM_SEGMENTS
        visible = seg in JOINT_SEGMENTS[j] and int(lip[op]) in LIP_ALLOWED[j]
        # a far-side shoulder/hip seen "through" its own torso is hidden by it
        if visible and seg == S["torso"] and j not in (J["thorax"], J["pelvis"]):
            visible = rendered.depth[j] >= rendered.torso_depth - 0.5 * rendered.torso_half_depth
        occluded[j] = not visible
    return joints, occluded


def pascal_joints(joints: np.ndarray, occluded: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(16, 3) MPII-order joints -> (14, 3) PASCAL-order joints and (14,) occlusion flags."""
    idx = list(PASCAL_JOINT_FROM_MPII)
    return joints[idx].copy(), occluded[idx].copy()
