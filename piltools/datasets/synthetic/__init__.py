"""Procedural synthetic LIP / MPII / PASCAL-Person-Part datasets written in the real formats.

The real datasets cannot be downloaded everywhere, so piltools renders
articulated people (2.5-D kinematic skeletons with anatomical joint limits,
front/back/side views, self-occlusion in depth order, same-colour left/right
garments, cluttered textured backgrounds, distractor limbs, occluders,
truncation, blur, noise, lighting) and WRITES them in the real datasets'
layouts, so the real loaders read them. Modules:

* :mod:`.config`     difficulty knobs (:class:`SynthConfig`) and appearance styles (:data:`STYLES`)
* :mod:`.body`       proportions, pose sampling, forward kinematics
* :mod:`.appearance` garments, colours and surface materials
* :mod:`.render`     painter's-algorithm rasteriser, joint visibility, :func:`joint_part_ids`
* :mod:`.scene`      backgrounds, clutter, occluders, distractor limbs, photometric effects
* :mod:`.sample`     one sample as a pure function of (kind, seed, split, index, size, config)
* :mod:`.writers`    the on-disk formats and :func:`generate`
* :mod:`.ensure`     :func:`ensure_synthetic` (cached, atomic, versioned)
* :mod:`.gallery`    the gallery figure

Command line: ``python -m piltools synth {lip,mpii,pascal,gallery} ...``.
"""
from piltools.datasets.synthetic.config import (
    DIFFICULTY,
    GENERATOR_VERSION,
    KINDS,
    STYLES,
    Style,
    SynthConfig,
    difficulty_config,
)
from piltools.datasets.synthetic.ensure import ensure_synthetic, read_manifest
from piltools.datasets.synthetic.render import joint_part_ids
from piltools.datasets.synthetic.sample import Sample, SyntheticPerson, render_sample
from piltools.datasets.synthetic.writers import generate

__all__ = [
    "DIFFICULTY", "GENERATOR_VERSION", "KINDS", "STYLES", "Sample", "Style", "SynthConfig", "SyntheticPerson", "difficulty_config",
    "ensure_synthetic", "generate", "joint_part_ids", "read_manifest", "render_sample",
]
