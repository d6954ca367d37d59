"""Joint, part and label vocabularies shared by every dataset, model and metric.

All index constants live here so that no other module writes a bare joint or
label number. Sources: the datasets' own documentation (LIP/MPII joint order,
LIP and PASCAL-Person-Part parsing ids; paper Sec. 4). Which dataset uses which
vocabulary is told by :mod:`piltools.datasets.specs`.
"""
from __future__ import annotations

# ----------------------------------------------------------------------------
# 16 single-person joints, MPII order (LIP uses the same order).
# ----------------------------------------------------------------------------
JOINT_NAMES: tuple[str, ...] = (
    "r_ankle",     # 0
    "r_knee",      # 1
    "r_hip",       # 2
    "l_hip",       # 3
    "l_knee",      # 4
    "l_ankle",     # 5
    "pelvis",      # 6
    "thorax",      # 7
    "neck",        # 8  (upper neck)
    "head_top",    # 9
    "r_wrist",     # 10
    "r_elbow",     # 11
    "r_shoulder",  # 12
    "l_shoulder",  # 13
    "l_elbow",     # 14
    "l_wrist",     # 15
)
NUM_JOINTS = len(JOINT_NAMES)
J = {name: i for i, name in enumerate(JOINT_NAMES)}

# Left/right joint pairs swapped by a horizontal flip.
FLIP_PAIRS: tuple[tuple[int, int], ...] = (
    (J["r_ankle"], J["l_ankle"]),
    (J["r_knee"], J["l_knee"]),
    (J["r_hip"], J["l_hip"]),
    (J["r_wrist"], J["l_wrist"]),
    (J["r_elbow"], J["l_elbow"]),
    (J["r_shoulder"], J["l_shoulder"]),
)


def flip_permutation(num: int, pairs: tuple[tuple[int, int], ...]) -> list[int]:
    """Index permutation that swaps every (a, b) in ``pairs`` among ``num`` items."""
    perm = list(range(num))
    for a, b in pairs:
        perm[a], perm[b] = b, a
    return perm


JOINT_FLIP_PERM = flip_permutation(NUM_JOINTS, FLIP_PAIRS)

# Skeleton edges for drawing (pairs of joint indices).
SKELETON: tuple[tuple[int, int], ...] = (
    (J["r_ankle"], J["r_knee"]), (J["r_knee"], J["r_hip"]), (J["r_hip"], J["pelvis"]),
    (J["l_ankle"], J["l_knee"]), (J["l_knee"], J["l_hip"]), (J["l_hip"], J["pelvis"]),
    (J["pelvis"], J["thorax"]), (J["thorax"], J["neck"]), (J["neck"], J["head_top"]),
    (J["r_wrist"], J["r_elbow"]), (J["r_elbow"], J["r_shoulder"]), (J["r_shoulder"], J["thorax"]),
    (J["l_wrist"], J["l_elbow"]), (J["l_elbow"], J["l_shoulder"]), (J["l_shoulder"], J["thorax"]),
)

# ----------------------------------------------------------------------------
# LIP human parsing: 20 ids, 255 = ignore.
# ----------------------------------------------------------------------------
IGNORE_LABEL = 255
LIP_PARSING_LABELS: tuple[str, ...] = (
    "background",    # 0
    "hat",           # 1
    "hair",          # 2
    "glove",         # 3
    "sunglasses",    # 4
    "upper_clothes", # 5
    "dress",         # 6
    "coat",          # 7
    "socks",         # 8
    "pants",         # 9
    "jumpsuits",     # 10
    "scarf",         # 11
    "skirt",         # 12
    "face",          # 13
    "left_arm",      # 14
    "right_arm",     # 15
    "left_leg",      # 16
    "right_leg",     # 17
    "left_shoe",     # 18
    "right_shoe",    # 19
)
NUM_LIP_PARSING = len(LIP_PARSING_LABELS)
P = {name: i for i, name in enumerate(LIP_PARSING_LABELS)}
LIP_PARSING_FLIP_PAIRS: tuple[tuple[int, int], ...] = (
    (P["left_arm"], P["right_arm"]),
    (P["left_leg"], P["right_leg"]),
    (P["left_shoe"], P["right_shoe"]),
)
LIP_PARSING_FLIP_PERM = flip_permutation(NUM_LIP_PARSING, LIP_PARSING_FLIP_PAIRS)

# ----------------------------------------------------------------------------
# Extended PASCAL-Person-Part: 7 part ids and 14 joints per person.
# The 14 joints are the MPII joints without pelvis and thorax, in MPII order.
# ----------------------------------------------------------------------------
PASCAL_PART_LABELS: tuple[str, ...] = (
    "background", "head", "torso", "upper_arm", "lower_arm", "upper_leg", "lower_leg",
)
NUM_PASCAL_PARTS = len(PASCAL_PART_LABELS)
PASCAL_JOINT_FROM_MPII: tuple[int, ...] = tuple(
    i for i, n in enumerate(JOINT_NAMES) if n not in ("pelvis", "thorax")
)
PASCAL_JOINT_NAMES: tuple[str, ...] = tuple(JOINT_NAMES[i] for i in PASCAL_JOINT_FROM_MPII)
NUM_PASCAL_JOINTS = len(PASCAL_JOINT_NAMES)
PJ = {name: i for i, name in enumerate(PASCAL_JOINT_NAMES)}
PASCAL_FLIP_PAIRS: tuple[tuple[int, int], ...] = tuple(
    (PJ[JOINT_NAMES[a]], PJ[JOINT_NAMES[b]]) for a, b in FLIP_PAIRS
)
PASCAL_JOINT_FLIP_PERM = flip_permutation(NUM_PASCAL_JOINTS, PASCAL_FLIP_PAIRS)

# Skeleton of the 14 PASCAL joints (no pelvis/thorax): limbs plus a shoulder and a hip bar.
PASCAL_SKELETON: tuple[tuple[int, int], ...] = (
    (PJ["r_ankle"], PJ["r_knee"]), (PJ["r_knee"], PJ["r_hip"]), (PJ["l_ankle"], PJ["l_knee"]),
    (PJ["l_knee"], PJ["l_hip"]), (PJ["r_hip"], PJ["l_hip"]), (PJ["r_wrist"], PJ["r_elbow"]),
    (PJ["r_elbow"], PJ["r_shoulder"]), (PJ["l_wrist"], PJ["l_elbow"]), (PJ["l_elbow"], PJ["l_shoulder"]),
    (PJ["r_shoulder"], PJ["l_shoulder"]), (PJ["neck"], PJ["head_top"]),
    (PJ["r_shoulder"], PJ["neck"]), (PJ["l_shoulder"], PJ["neck"]),
    (PJ["r_hip"], PJ["r_shoulder"]), (PJ["l_hip"], PJ["l_shoulder"]),
)
