"""Synthetic training data: HDR scenes, a random camera, bracket sets with fused labels.

numpy + OpenCV only. Typical use::

    from edgemef.data import SyntheticBrackets
    ds = SyntheticBrackets(seed=0, size=(256, 256))
    s = ds[0]          # BracketSet: under, over, ev0, radiance, label, exposure_times, seed
"""
from edgemef.data.brackets import BracketSet, SyntheticBrackets, item_seed, render_bracket_set

__all__ = ["BracketSet", "SyntheticBrackets", "item_seed", "render_bracket_set"]
