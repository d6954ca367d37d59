"""piltools: a re-implementation of "Human Pose Estimation with Parsing Induced
Learner" (Nie, Feng, Zuo, Yan, CVPR 2018).

Importing the package needs neither a dataset nor a GPU.
"""
__version__ = "0.1.0"
