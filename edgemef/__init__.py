"""edgemef: multi-exposure image fusion on edge hardware.

Library use::

    import edgemef
    result = edgemef.fuse(edgemef.load_brackets(["under.jpg", "over.jpg"]), method="mertens")
    edgemef.save_image("fused.png", result.image)
"""
from edgemef.errors import EdgemefError
from edgemef.fusion import METHODS, FusionResult, fuse, register_method
from edgemef.io import Bracket, load_brackets, load_image, save_image

__all__ = ["EdgemefError", "METHODS", "FusionResult", "fuse", "register_method", "Bracket",
           "load_brackets", "load_image", "save_image"]
