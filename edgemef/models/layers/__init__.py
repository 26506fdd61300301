"""Building blocks for the fusion networks (PyTorch, no torchvision).

:mod:`~edgemef.models.layers.dcn` deformable convolution (grid_sample based, ONNX-exportable),
:mod:`~edgemef.models.layers.gc_block` global context block (GCNet),
:mod:`~edgemef.models.layers.hin` half instance normalisation blocks and their U-Net (HINet),
:mod:`~edgemef.models.layers.sam` supervised attention module (MPRNet).
"""
from edgemef.models.layers.dcn import DeformConv2d, deform_conv2d
from edgemef.models.layers.gc_block import GlobalContextBlock
from edgemef.models.layers.hin import HINBlock, HINUNet
from edgemef.models.layers.sam import SupervisedAttention

__all__ = ["DeformConv2d", "GlobalContextBlock", "HINBlock", "HINUNet", "SupervisedAttention",
           "deform_conv2d"]
