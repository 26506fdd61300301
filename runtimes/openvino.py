"""OpenVINO backend: runs ``.xml`` IR and ``.onnx`` artifacts (``pip install 'edgemef[openvino]'``).

On CPUs with bf16/AMX units OpenVINO runs in bf16 unless told otherwise, so this backend compiles
with ``INFERENCE_PRECISION_HINT=f32`` by default and records the precision that actually runs.
"""
from __future__ import annotations

import numpy as np

from edgemef.errors import EdgemefError
from edgemef.runtimes.base import Backend

PRECISIONS = {"f32": "f32", "fp32": "f32", "bf16": "bf16", "f16": "f16", "fp16": "f16"}
_REPORTED = {"f32": "fp32", "bf16": "bf16", "f16": "fp16"}


class OpenVINOBackend(Backend):
    """OpenVINO CompiledModel with one infer request.

    ``threads`` sets ``INFERENCE_NUM_THREADS``; ``device`` is an OpenVINO device name ('CPU',
    'GPU', 'NPU', 'AUTO'); ``precision`` the ``INFERENCE_PRECISION_HINT`` (default f32).
    """

    name = "openvino"
    requires = ("openvino",)
    distribution = "openvino"
    install_hint = "pip install 'edgemef[openvino]'"

    def _load(self) -> None:
        import openvino as ov

        hint = PRECISIONS.get((self.precision or "f32").lower())
        if hint is None:
            raise EdgemefError(f"unknown OpenVINO precision '{self.precision}' (use f32, bf16 or f16)")
        core = ov.Core()
        device = self.device.upper()
        if device not in ("AUTO",) and not device.startswith(("HETERO", "MULTI")):
            if device.split(".")[0] not in core.available_devices and device not in core.available_devices:
                raise EdgemefError(f"OpenVINO device '{self.device}' not found "
                                   f"(available: {', '.join(core.available_devices)})")
        try:
            model = core.read_model(str(self.path))
        except Exception as e:
            msg = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise EdgemefError(f"{self.path.name}: OpenVINO cannot read it ({msg[:200]})") from None
        config = {"INFERENCE_PRECISION_HINT": hint, "PERFORMANCE_HINT": "LATENCY"}
        if self.threads:
            config["INFERENCE_NUM_THREADS"] = self.threads
        try:
            self.compiled = core.compile_model(model, device, config)
        except Exception as e:
            msg = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise EdgemefError(f"{self.path.name}: OpenVINO cannot compile it for {device} ({msg[:200]})") from None
        self.request = self.compiled.create_infer_request()
        extra_names = [e["name"] for e in self.manifest.extra_inputs]
        names = [sorted(p.get_names()) for p in self.compiled.inputs]
        if len(self.compiled.inputs) != 1 + len(extra_names):
            raise EdgemefError(f"{self.path.name}: the model's inputs {names} do not match the manifest's "
                               f"{self.manifest.input_names}")
        self.extra_ports = {}
        for n in extra_names:
            port = next((p for p in self.compiled.inputs if n in p.get_names()), None)
            if port is None:
                raise EdgemefError(f"{self.path.name}: the model has no input '{n}' (its inputs: {names})")
            self.extra_ports[n] = port
        rest = [p for p in self.compiled.inputs if not set(p.get_names()) & set(extra_names)]
        self.input_port = self._port(rest, self.manifest.input_name)
        self.output_port = self._port(self.compiled.outputs, self.manifest.output_name)
        try:
            prop = self.compiled.get_property("INFERENCE_PRECISION_HINT")
            used = prop.get_type_name() if hasattr(prop, "get_type_name") else str(prop).lower()
        except Exception:  # some plugins do not report it
            used = hint
        self.precision_used = _REPORTED.get(used, used)
        if self.manifest.precision == "int8":
            self.precision_used = f"int8+{self.precision_used}"
        pshape = self.input_port.get_partial_shape()
        if pshape.rank.is_static and len(pshape) == 4 and pshape[2].is_static and pshape[3].is_static:
            self.fixed_hw = (pshape[2].get_length(), pshape[3].get_length())
        try:
            self.threads_used = int(self.compiled.get_property("INFERENCE_NUM_THREADS"))
        except Exception:
            self.threads_used = self.threads

    @staticmethod
    def _port(ports, name: str):
        for port in ports:
            if name in port.get_names():
                return port
        return ports[0]

    def infer(self, x: np.ndarray, extra: dict[str, np.ndarray] | None = None) -> np.ndarray:
        x = self._check_input(x)
        feed = {self.input_port: x}
        for name, a in self._check_extra(extra).items():
            feed[self.extra_ports[name]] = a
        self.request.infer(feed)
        return np.array(self.request.get_tensor(self.output_port).data, dtype=np.float32, copy=True)

    def info(self) -> dict:
        d = super().info()
        d["threads"] = self.threads_used or "default"
        return d
