"""ONNX Runtime backend: runs ``.onnx`` and ``.ort`` artifacts (the base install's engine)."""
from __future__ import annotations

import numpy as np

from edgemef.errors import EdgemefError
from edgemef.runtimes.base import Backend

DEVICE_PROVIDERS = {
    "CPU": ["CPUExecutionProvider"],
    "CUDA": ["CUDAExecutionProvider", "CPUExecutionProvider"],
    "GPU": ["CUDAExecutionProvider", "CPUExecutionProvider"],
    "TENSORRT": ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
    "OPENVINO": ["OpenVINOExecutionProvider", "CPUExecutionProvider"],
    "NPU": ["QNNExecutionProvider", "CPUExecutionProvider"],
}


class OnnxRuntimeBackend(Backend):
    """ONNX Runtime InferenceSession.

    ``threads`` sets ``intra_op_num_threads`` (inter-op stays 1: the graphs are sequential);
    ``providers`` lists execution providers in priority order (default: from ``device``, CPU).
    """

    name = "onnxruntime"
    requires = ("onnxruntime",)
    distribution = "onnxruntime"
    alt_distributions = ("onnxruntime-gpu", "onnxruntime-openvino", "onnxruntime-directml")  # the same module
    install_hint = "pip install onnxruntime"

    def _load(self) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        if self.threads:
            opts.intra_op_num_threads = self.threads
        available = ort.get_available_providers()
        if self.providers:
            unknown = [p for p in self.providers if p not in available]
            if unknown:
                raise EdgemefError(f"ONNX Runtime provider(s) {', '.join(unknown)} not available here "
                                   f"(available: {', '.join(available)})")
            providers = self.providers
        else:
            key = self.device.upper()
            if key not in DEVICE_PROVIDERS:
                raise EdgemefError(f"unknown device '{self.device}' for ONNX Runtime "
                                   f"(use {', '.join(DEVICE_PROVIDERS)} or pass providers)")
            providers = [p for p in DEVICE_PROVIDERS[key] if p in available]
            if providers == ["CPUExecutionProvider"] and key != "CPU":
                raise EdgemefError(f"device '{self.device}' needs {DEVICE_PROVIDERS[key][0]}, which this "
                                   f"onnxruntime lacks (available: {', '.join(available)})")
        try:
            self.session = ort.InferenceSession(str(self.path), sess_options=opts, providers=providers)
        except Exception as e:  # ORT raises its own Fail/InvalidGraph/... types
            msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise EdgemefError(f"{self.path.name}: ONNX Runtime cannot load it ({msg[:200]})") from None
        inputs = [i.name for i in self.session.get_inputs()]
        outputs = [o.name for o in self.session.get_outputs()]
        self.extra_names = [e["name"] for e in self.manifest.extra_inputs]
        missing = [n for n in self.extra_names if n not in inputs]
        if missing or len(inputs) != 1 + len(self.extra_names):
            raise EdgemefError(f"{self.path.name}: the graph's inputs {inputs} do not match the manifest's "
                               f"{self.manifest.input_names}")
        rest = [n for n in inputs if n not in self.extra_names]
        self.input_name = self.manifest.input_name if self.manifest.input_name in rest else rest[0]
        self.output_name = self.manifest.output_name if self.manifest.output_name in outputs else outputs[0]
        self.providers = self.session.get_providers()
        shape = self.session.get_inputs()[inputs.index(self.input_name)].shape
        if len(shape) == 4 and all(isinstance(s, int) for s in shape[2:]):
            self.fixed_hw = (int(shape[2]), int(shape[3]))
        types = {i.name: i.type for i in self.session.get_inputs()}
        self._dtypes = {n: np.float16 if t == "tensor(float16)" else np.float32 for n, t in types.items()}
        self._dtype = self._dtypes[self.input_name]

    def infer(self, x: np.ndarray, extra: dict[str, np.ndarray] | None = None) -> np.ndarray:
        x = self._check_input(x)
        feed = {self.input_name: x.astype(self._dtype, copy=False)}
        for name, a in self._check_extra(extra).items():
            feed[name] = a.astype(self._dtypes[name], copy=False)
        (y,) = self.session.run([self.output_name], feed)
        return np.asarray(y, dtype=np.float32)

    def info(self) -> dict:
        d = super().info()
        d["providers"] = ",".join(self.providers or [])
        if self.threads is None:
            d["threads"] = "default"
        return d
