"""Training task of STHDR: LDR frames + exposure ratios in, linear radiance out.

Inputs are the under and over RGB frames and their exposure times relative to the reference
(over) frame, from the renderer's known exposure times; the target is the camera radiance in the
reference frame's units (:mod:`edgemef.train.rgb_dataset`). The loss is L1 on mu-law tone-mapped
radiance (mu = 5000) at every scale, weight 1 each, the supervised-attention stage-1 images
included (:func:`~edgemef.train.hdr_losses.multiscale_mu_law_l1`). The paper's Table 3 ablations
are the ``ablation`` field: 'full', 'single_scale', 'no_align'.
"""
from __future__ import annotations

import dataclasses

from edgemef.errors import EdgemefError
from edgemef.manifest import Manifest
from edgemef.train.tasks import Task


def model_config(cfg) -> dict:
    """The full :class:`~edgemef.models.sthdr.STHDRConfig` of a run (ablation applied) as a dict."""
    from edgemef.models.sthdr import ablation_config

    try:
        mc = dataclasses.asdict(ablation_config(cfg.ablation, **cfg.network))
    except (TypeError, ValueError) as e:
        raise EdgemefError(f"bad training config: network {cfg.network}: {e}") from None
    if mc["exposures"] != 2 or mc["reference"] != 1:
        raise EdgemefError("the STHDR trainer's data has two exposures with the over-exposed frame as "
                           "reference: network.exposures must be 2 and network.reference 1")
    return mc


def manifest_for(cfg, model=None) -> Manifest:
    """The torch-format artifact manifest of an STHDR run's weights (output 'hdr').

    The display tone curve is left to :mod:`edgemef.netio`'s default. Where the manifest schema
    has ``extra_inputs``, the exposure-ratio input is declared there (relative to the reference).
    """
    from edgemef.models.sthdr import STHDR, STHDRConfig

    mc = model_config(cfg)
    pad = (model if model is not None else STHDR(STHDRConfig(**mc))).pad_multiple
    m = Manifest(model="sthdr", format="torch", precision="fp32", exposures=2, colour_space="rgb",
                 output="hdr", pad_multiple=int(pad), extra={"config": mc, "reference": mc["reference"]})
    if "extra_inputs" in {f.name for f in dataclasses.fields(Manifest)}:
        m.extra_inputs = [{"name": "exposure_ratios", "kind": "exposure_ratios", "shape": [1, mc["exposures"]],
                           "dtype": "float32", "reference": mc["reference"], "gamma": float(mc["gamma"])}]
    return m


class STHDRTask(Task):
    """STHDR on RGB crops of the synthetic HDR sets."""

    name = "sthdr"
    ylabel = "L1 of mu-law radiance, summed over scales"
    curves = ("loss", "final_s0", "final_s1", "final_s2", "stage1_s0")

    @property
    def title(self) -> str:
        return f"sthdr[{self.cfg.ablation}]"

    def build_model(self):
        from edgemef.models import create_model

        return create_model("sthdr", **model_config(self.cfg))

    def dataset(self, progress):
        from edgemef.train.rgb_dataset import RGBCrops, RGBScenePool

        self.pool = self.pool or RGBScenePool(self.cfg.data, progress=progress)
        return RGBCrops(self.pool, self.cfg.crop, seed=self.cfg.seed)

    def loss(self, module, batch, phase):
        from edgemef.train.hdr_losses import multiscale_mu_law_l1

        out = module(batch["inputs"], batch["ratios"], return_all=True)
        loss, terms = multiscale_mu_law_l1(out, batch["hdr"], mu=float(self.cfg.mu),
                                           stage1_weight=float(self.cfg.stage1_weight), return_terms=True)
        parts = {k: float(v) for k, v in terms.items()}
        parts["loss"] = loss.item()
        return loss, parts

    def manifest(self, model):
        return manifest_for(self.cfg, model)

    def describe(self):
        return {"loss": {"kind": "multi-scale L1 on mu-law radiance", "mu": self.cfg.mu,
                         "scale_weights": 1.0, "stage1_weight": self.cfg.stage1_weight},
                "target": "camera radiance in the over frame's units, capped at the under frame's saturation",
                "inputs": "under, over RGB + exposure times relative to over (renderer's known times)",
                "network": model_config(self.cfg)}

    def postfix(self, parts):
        return {"s0": f"{parts['final_s0']:.4f}"}
