"""Body model: proportions, joint-angle sampling within anatomical limits, forward kinematics.

The body is a 2.5-D kinematic skeleton: joint angles are sampled in 3-D (so that
foreshortening, side views and depth order come out right) and the skeleton is
projected orthographically. Person frame (metres-free, stature = 1): ``+x`` is
the PERSON's left, ``+y`` up, ``+z`` the direction the chest faces. The camera
looks along ``-z`` of the world frame; a yaw of 0 shows the person from the
front (their left appears on the image right), a yaw of pi from the back.

Proportions follow common anthropometric ratios of stature (head 0.13, upper
arm 0.17, forearm 0.15, thigh and shank 0.245, shoulder joints 0.2 apart, hip
joints 0.11 apart), multiplied by per-person factors from the dataset's
:class:`~piltools.synthetic.config.Style`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from piltools.synthetic.config import Style, SynthConfig
from piltools.joints import J, NUM_JOINTS

VIEWS = ("front", "back", "side")
POSE_FAMILIES = ("standing", "walking", "sitting", "free")


def rot_x(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def rot_y(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def rot_z(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def rotate_about(v: np.ndarray, axis: np.ndarray, angle: float) -> np.ndarray:
    """Rodrigues rotation of vector ``v`` (3,) about unit ``axis`` (3,) by ``angle`` radians."""
    axis = axis / np.linalg.norm(axis)
    c, s = np.cos(angle), np.sin(angle)
    return v * c + np.cross(axis, v) * s + axis * np.dot(axis, v) * (1.0 - c)


@dataclass(frozen=True)
class BodyShape:
    """Segment lengths and thicknesses of one person, in units of stature.

    Args:
        spine: pelvis -> thorax length.
        neck: thorax -> neck base length.
        head_h: head half-height (ellipse semi-axis along the head's up direction).
        head_w: head half-width.
        shoulder: half distance between the shoulder joints.
        hip: half distance between the hip joints.
        upper_arm, forearm, hand: arm segment lengths.
        thigh, shank, foot: leg segment lengths.
        arm_r, fore_r, thigh_r, shank_r: limb radii (upper end).
        torso_w, waist_w, hip_w: torso half-widths at shoulder, waist and hip level.
        torso_d: torso half-depth.
    """

    spine: float
    neck: float
    head_h: float
    head_w: float
    shoulder: float
    hip: float
    upper_arm: float
    forearm: float
    hand: float
    thigh: float
    shank: float
    foot: float
    arm_r: float
    fore_r: float
    thigh_r: float
    shank_r: float
    torso_w: float
    waist_w: float
    hip_w: float
    torso_d: float


def sample_shape(rng: np.random.Generator, style: Style) -> BodyShape:
    """Random body proportions for one person of the given style."""
    leg = rng.uniform(*style.leg_length)
    arm = rng.uniform(*style.arm_length)
    sho = rng.uniform(*style.shoulder_width)
    head = rng.uniform(*style.head_size)
    girth = rng.uniform(*style.girth)
    return BodyShape(
        spine=0.29 * rng.uniform(0.95, 1.05), neck=0.045, head_h=0.066 * head, head_w=0.052 * head,
        shoulder=0.1 * sho, hip=0.055 * rng.uniform(0.95, 1.15),
        upper_arm=0.17 * arm, forearm=0.15 * arm, hand=0.075 * arm,
        thigh=0.245 * leg, shank=0.24 * leg, foot=0.11,
        arm_r=0.03 * girth, fore_r=0.024 * girth, thigh_r=0.048 * girth, shank_r=0.034 * girth,
        torso_w=0.115 * sho * girth ** 0.5, waist_w=0.085 * girth, hip_w=0.1 * girth ** 0.7,
        torso_d=0.06 * girth,
    )


@dataclass(frozen=True)
class PoseAngles:
    """Joint angles in radians (left/right arrays are indexed 0 = left, 1 = right).

    Args:
        yaw: body orientation about the vertical axis (0 = facing the camera).
        roll: in-plane rotation of the whole figure in the image.
        bend, lean, twist: torso forward bend, sideways lean, shoulder twist.
        head_turn, head_nod, head_tilt: head yaw/pitch/roll relative to the torso.
        sho_flex, sho_abd, sho_rot, elbow: shoulder flexion (forward), abduction (sideways),
            humeral rotation, elbow flexion.
        hip_flex, hip_abd, hip_rot, knee, ankle: hip flexion (forward), abduction, rotation, knee
            flexion, ankle flexion.
        view: canonical view name ("front", "back", "side").
        family: pose family name.
    """

    yaw: float
    roll: float
    bend: float
    lean: float
    twist: float
    head_turn: float
    head_nod: float
    head_tilt: float
    sho_flex: np.ndarray
    sho_abd: np.ndarray
    sho_rot: np.ndarray
    elbow: np.ndarray
    hip_flex: np.ndarray
    hip_abd: np.ndarray
    hip_rot: np.ndarray
    knee: np.ndarray
    ankle: np.ndarray
    view: str
    family: str


# Anatomical limits in degrees, (min, max), enforced for every family.
LIMITS_DEG: dict[str, tuple[float, float]] = {
    "bend": (-20.0, 60.0), "lean": (-25.0, 25.0), "twist": (-40.0, 40.0),
    "head_turn": (-70.0, 70.0), "head_nod": (-30.0, 40.0), "head_tilt": (-25.0, 25.0),
    "sho_flex": (-50.0, 175.0), "sho_abd": (-15.0, 165.0), "sho_rot": (-50.0, 90.0), "elbow": (0.0, 150.0),
    "hip_flex": (-25.0, 120.0), "hip_abd": (-10.0, 50.0), "hip_rot": (-30.0, 40.0), "knee": (0.0, 145.0),
    "ankle": (-20.0, 35.0),
}


def _clip(name: str, value_deg: np.ndarray | float) -> np.ndarray:
    lo, hi = LIMITS_DEG[name]
    return np.radians(np.clip(value_deg, lo, hi))


def _choice(rng: np.random.Generator, names: tuple[str, ...], probs: tuple[float, ...]) -> str:
    return names[int(rng.choice(len(names), p=np.asarray(probs)))]


def sample_pose(rng: np.random.Generator, config: SynthConfig) -> PoseAngles:
    """Sample a body orientation and joint angles (a pure function of ``rng``'s state)."""
    view = _choice(rng, VIEWS, config.view_probs)
    jitter = np.radians(config.view_jitter_deg)
    if view == "front":
        yaw = rng.uniform(-jitter, jitter)
    elif view == "back":
        yaw = np.pi + rng.uniform(-jitter, jitter)
    else:
        yaw = rng.choice([-1.0, 1.0]) * np.pi / 2 + rng.uniform(-0.6 * jitter, 0.6 * jitter)
    roll = rng.normal(0.0, np.radians(config.roll_sigma_deg))
    if rng.random() < config.p_big_roll:
        roll = rng.uniform(-1.0, 1.0) * np.radians(config.big_roll_deg)

    family = _choice(rng, POSE_FAMILIES, config.pose_probs)
    k = config.pose_spread

    def n2(mean: float, std: float) -> np.ndarray:  # left, right
        return mean + k * std * rng.standard_normal(2)

    def u(name: str, size: int | None = None) -> np.ndarray:
        lo, hi = LIMITS_DEG[name]
        return rng.uniform(lo, hi, size=size)

    bend = rng.normal(5.0, 8.0 * k)
    lean = rng.normal(0.0, 5.0 * k)
    twist = rng.normal(0.0, 10.0 * k)
    head = (rng.normal(0.0, 25.0 * k), rng.normal(0.0, 10.0 * k), rng.normal(0.0, 8.0 * k))
    # arms: a mixture of everyday gestures, independent per side
    sho_flex = np.empty(2)
    sho_abd = np.empty(2)
    sho_rot = np.empty(2)
    elbow = np.empty(2)
    for side in range(2):
        gesture = rng.choice(5, p=[0.35, 0.2, 0.15, 0.15, 0.15])
        if gesture == 0:    # hanging
            f, a, r, e = 5.0, 10.0, 10.0, 15.0
        elif gesture == 1:  # forearm forward (holding, gesturing)
            f, a, r, e = 25.0, 15.0, 20.0, 85.0
        elif gesture == 2:  # hand on hip / akimbo
            f, a, r, e = -10.0, 45.0, 70.0, 100.0
        elif gesture == 3:  # raised (waving, reaching up)
            f, a, r, e = 60.0, 100.0, 0.0, 40.0
        else:               # anything within the limits
            f, a, r, e = u("sho_flex"), u("sho_abd"), u("sho_rot"), u("elbow")
        sho_flex[side] = f + k * rng.normal(0.0, 20.0)
        sho_abd[side] = a + k * rng.normal(0.0, 15.0)
        sho_rot[side] = r + k * rng.normal(0.0, 15.0)
        elbow[side] = e + k * rng.normal(0.0, 20.0)
    if family == "standing":
        hip_flex, hip_abd, knee = n2(3.0, 6.0), n2(6.0, 5.0), np.abs(n2(3.0, 6.0))
    elif family == "walking":
        stride = rng.uniform(10.0, 35.0) * k
        front = rng.integers(2)
        hip_flex = np.where(np.arange(2) == front, stride, -0.6 * stride) + rng.normal(0, 4.0, 2)
        hip_abd = n2(4.0, 3.0)
        knee = np.where(np.arange(2) == front, rng.uniform(5.0, 25.0), rng.uniform(15.0, 50.0))
    elif family == "sitting":
        hip_flex, hip_abd, knee = n2(85.0, 12.0), n2(12.0, 8.0), n2(90.0, 15.0)
        bend = rng.normal(0.0, 10.0 * k)
    else:  # free: any angle within the limits
        hip_flex, hip_abd, knee = u("hip_flex", 2), u("hip_abd", 2), u("knee", 2)
        bend, lean, twist = u("bend"), u("lean"), u("twist")
        sho_flex, sho_abd, sho_rot, elbow = u("sho_flex", 2), u("sho_abd", 2), u("sho_rot", 2), u("elbow", 2)
    return PoseAngles(
        yaw=float(yaw), roll=float(roll),
        bend=float(_clip("bend", bend)), lean=float(_clip("lean", lean)), twist=float(_clip("twist", twist)),
        head_turn=float(_clip("head_turn", head[0])), head_nod=float(_clip("head_nod", head[1])),
        head_tilt=float(_clip("head_tilt", head[2])),
        sho_flex=_clip("sho_flex", sho_flex), sho_abd=_clip("sho_abd", sho_abd),
        sho_rot=_clip("sho_rot", sho_rot), elbow=_clip("elbow", elbow),
        hip_flex=_clip("hip_flex", hip_flex), hip_abd=_clip("hip_abd", hip_abd),
        hip_rot=_clip("hip_rot", rng.normal(0.0, 10.0 * k, 2)), knee=_clip("knee", knee),
        ankle=_clip("ankle", rng.normal(0.0, 8.0, 2)), view=view, family=family,
    )


@dataclass
class Skeleton3D:
    """Posed body in WORLD coordinates (after yaw; x right, y up, z toward the camera).

    Args:
        joints: (16, 3) the MPII joints (the head-top and upper-neck entries are placeholders;
            the renderer places them on the drawn head ellipse).
        head_center: (3,) centre of the head.
        head_up: (3,) unit vector of the head's up axis.
        face_dir: (3,) unit vector the face points to.
        hand_end: (2, 3) fingertips (left, right).
        toe: (2, 3) toe tips (left, right).
        heel: (2, 3) heels (left, right).
        torso_box: (3, 4, 3) torso cross-section corners at shoulder, waist and hip level.
        neck_base: (3,) base of the neck.
    """

    joints: np.ndarray
    head_center: np.ndarray
    head_up: np.ndarray
    face_dir: np.ndarray
    hand_end: np.ndarray
    toe: np.ndarray
    heel: np.ndarray
    torso_box: np.ndarray
    neck_base: np.ndarray


SIDES = ((+1.0, "l"), (-1.0, "r"))  # side index 0 = left (+x), 1 = right


def pose_skeleton(shape: BodyShape, pose: PoseAngles) -> Skeleton3D:
    """Forward kinematics: joint angles + proportions -> 3-D world points (stature 1, pelvis at 0)."""
    joints = np.zeros((NUM_JOINTS, 3))
    r_torso = rot_y(pose.twist) @ rot_z(pose.lean) @ rot_x(pose.bend)
    up = r_torso @ np.array([0.0, 1.0, 0.0])
    thorax = up * shape.spine
    neck_base = thorax + up * shape.neck
    r_head = r_torso @ rot_y(pose.head_turn) @ rot_x(pose.head_nod) @ rot_z(pose.head_tilt)
    head_up = r_head @ np.array([0.0, 1.0, 0.0])
    head_center = neck_base + head_up * shape.head_h * 0.95 + r_head @ np.array([0.0, 0.0, 0.01])
    joints[J["pelvis"]] = 0.0
    joints[J["thorax"]] = thorax
    joints[J["neck"]] = head_center - head_up * shape.head_h * 0.75
    joints[J["head_top"]] = head_center + head_up * shape.head_h * 0.85
    down = np.array([0.0, -1.0, 0.0])
    hand_end = np.zeros((2, 3))
    toe = np.zeros((2, 3))
    heel = np.zeros((2, 3))
    for side, (sign, prefix) in enumerate(SIDES):
        # arm: abduction about z, flexion about x, in the torso frame
        r_arm = r_torso @ rot_x(-pose.sho_flex[side]) @ rot_z(sign * pose.sho_abd[side])
        upper = r_arm @ down
        hinge = rotate_about(r_arm @ np.array([1.0, 0.0, 0.0]), upper, -sign * pose.sho_rot[side])
        fore = rotate_about(upper, hinge, -pose.elbow[side])
        shoulder = thorax + r_torso @ np.array([sign * shape.shoulder, -0.015, 0.0])
        elbow = shoulder + upper * shape.upper_arm
        wrist = elbow + fore * shape.forearm
        joints[J[f"{prefix}_shoulder"]] = shoulder
        joints[J[f"{prefix}_elbow"]] = elbow
        joints[J[f"{prefix}_wrist"]] = wrist
        hand_end[side] = wrist + fore * shape.hand
        # leg: abduction about z, flexion about x, rotation about the thigh axis, in the pelvis frame
        r_leg = rot_x(-pose.hip_flex[side]) @ rot_z(sign * pose.hip_abd[side])
        thigh = r_leg @ down
        hinge = rotate_about(r_leg @ np.array([1.0, 0.0, 0.0]), thigh, sign * pose.hip_rot[side])
        shank = rotate_about(thigh, hinge, pose.knee[side])
        foot_dir = rotate_about(shank, hinge, -np.pi / 2 + pose.ankle[side])
        hip = np.array([sign * shape.hip, -0.02, 0.0])
        knee = hip + thigh * shape.thigh
        ankle = knee + shank * shape.shank
        joints[J[f"{prefix}_hip"]] = hip
        joints[J[f"{prefix}_knee"]] = knee
        joints[J[f"{prefix}_ankle"]] = ankle
        toe[side] = ankle + foot_dir * shape.foot - shank * 0.02
        heel[side] = ankle - foot_dir * 0.03 - shank * 0.02
    # torso cross-sections: (level, corner, xyz) in the torso (top) and pelvis (bottom) frames
    box = np.zeros((3, 4, 3))
    corners = np.array([[1, 1], [1, -1], [-1, -1], [-1, 1]], dtype=float)
    levels = ((thorax + r_torso @ np.array([0, 0.01, 0]), shape.torso_w, r_torso),
              (thorax * 0.4, shape.waist_w, rot_y(pose.twist * 0.4) @ rot_x(pose.bend * 0.4)),
              (np.array([0.0, -0.05, 0.0]), shape.hip_w, np.eye(3)))
    for level, (centre, half_w, frame) in enumerate(levels):
        for c, (sx, sz) in enumerate(corners):
            box[level, c] = centre + frame @ np.array([sx * half_w, 0.0, sz * shape.torso_d])
    world = rot_y(pose.yaw)

    def w(points: np.ndarray) -> np.ndarray:
        return points @ world.T

    face_dir = r_head @ np.array([0.0, 0.0, 1.0])
    return Skeleton3D(
        joints=w(joints), head_center=w(head_center), head_up=w(head_up), face_dir=w(face_dir),
        hand_end=w(hand_end), toe=w(toe), heel=w(heel), torso_box=w(box.reshape(-1, 3)).reshape(3, 4, 3),
        neck_base=w(neck_base),
    )
