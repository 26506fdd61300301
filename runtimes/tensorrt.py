"""TensorRT backend: runs serialized ``.engine`` / ``.plan`` files on an NVIDIA GPU.

Needs the ``tensorrt`` Python package (10.x, e.g. JetPack 6, or 11.x) and cuda-python for device
memory (``cuda.bindings.runtime``, or the older ``cuda.cudart``): ``pip install 'edgemef[tensorrt]'``.
No torch, no pycuda. Uses the name-based I/O API (``num_io_tensors``, ``set_input_shape``,
``set_tensor_address``, ``execute_async_v3``) that both majors share. An engine only runs on the
GPU model and TensorRT version that built it; the manifest sits beside it as ``<engine>.json``.
"""
from __future__ import annotations

import re

import numpy as np

from edgemef.errors import EdgemefError
from edgemef.runtimes.base import Backend, _spec_exists

_NP_DTYPES = {"FLOAT": np.float32, "HALF": np.float16, "INT8": np.int8, "INT32": np.int32,
              "INT64": np.int64, "BOOL": np.bool_, "UINT8": np.uint8, "BF16": None, "FP8": None}


def _cudart():
    try:
        from cuda.bindings import runtime as cudart  # cuda-python >= 12.6
    except ImportError:
        from cuda import cudart  # older cuda-python
    return cudart


def _check(result, what: str):
    """cuda-python calls return (err, *values); raise on error, return the values."""
    err, *values = result if isinstance(result, tuple) else (result,)
    if int(getattr(err, "value", err)) != 0:
        raise EdgemefError(f"CUDA error in {what}: {getattr(err, 'name', err)}")
    return values[0] if len(values) == 1 else values


class TensorRTBackend(Backend):
    """A deserialized TensorRT engine with one execution context and one CUDA stream.

    ``device`` picks the GPU: 'CPU'/'GPU'/'CUDA' mean GPU 0, 'cuda:1' or 'GPU.1' GPU 1. Dynamic
    engines get ``set_input_shape`` per call; the first optimization profile's max shape is
    exposed as ``max_hw`` so the runtime tiles larger images.
    """

    name = "tensorrt"
    requires = ("tensorrt",)
    distribution = "tensorrt"
    # JetPack installs the module without pip metadata; other wheels are named per CUDA major
    alt_distributions = ("tensorrt-cu12", "tensorrt-cu13", "tensorrt_lean", "tensorrt-lean")
    install_hint = ("pip install 'edgemef[tensorrt]' on a machine with an NVIDIA GPU "
                    "(TensorRT engines only run on the GPU type and TensorRT version that built them)")

    @classmethod
    def missing(cls) -> list[str]:
        out = super().missing()
        if not (_spec_exists("cuda.bindings") or _spec_exists("cuda.cudart")):
            out.append("cuda-python")
        return out

    def _load(self) -> None:
        import tensorrt as trt

        self._trt = trt
        self.cudart = cudart = _cudart()
        m = re.search(r"(\d+)$", self.device)
        self.gpu = int(m.group(1)) if m else 0
        count = _check(cudart.cudaGetDeviceCount(), "cudaGetDeviceCount")
        if self.gpu >= count:
            raise EdgemefError(f"GPU {self.gpu} not found ({count} CUDA device(s))")
        _check(cudart.cudaSetDevice(self.gpu), "cudaSetDevice")
        self.logger = trt.Logger(trt.Logger.WARNING)
        self.trt_runtime = trt.Runtime(self.logger)
        try:
            self.engine = self.trt_runtime.deserialize_cuda_engine(self.path.read_bytes())
        except Exception as e:
            raise EdgemefError(f"{self.path.name}: TensorRT cannot deserialize it ({e})") from None
        if self.engine is None:
            raise EdgemefError(f"{self.path.name}: TensorRT {trt.__version__} cannot deserialize it (built by "
                               "another TensorRT version or for another GPU? rebuild it on this device)")
        self.context = self.engine.create_execution_context()
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        inputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        outputs = [n for n in names if n not in inputs]
        self.extra_names = [e["name"] for e in self.manifest.extra_inputs]
        if len(inputs) != 1 + len(self.extra_names) or any(n not in inputs for n in self.extra_names) or not outputs:
            raise EdgemefError(f"{self.path.name}: expected inputs {self.manifest.input_names} and an output, "
                               f"got {inputs} -> {outputs}")
        self.input_name = next(n for n in inputs if n not in self.extra_names)
        self.output_name = self.manifest.output_name if self.manifest.output_name in outputs else outputs[0]
        self.extra_outputs = [n for n in outputs if n != self.output_name]
        self.in_dtype = self._np_dtype(self.input_name)
        self.out_dtype = self._np_dtype(self.output_name)
        shape = tuple(self.engine.get_tensor_shape(self.input_name))
        self.min_hw = None
        if len(shape) == 4 and shape[2] > 0 and shape[3] > 0:
            self.fixed_hw = (int(shape[2]), int(shape[3]))
        else:
            lo, _, hi = self.engine.get_tensor_profile_shape(self.input_name, 0)
            self.min_hw, self.max_hw = (int(lo[2]), int(lo[3])), (int(hi[2]), int(hi[3]))
        self.stream = _check(cudart.cudaStreamCreate(), "cudaStreamCreate")
        self._buffers: dict[str, tuple[int, int]] = {}  # name -> (device pointer, bytes)
        self.precision_used = self.manifest.precision

    def _np_dtype(self, name: str):
        dt = self.engine.get_tensor_dtype(name)
        try:
            return np.dtype(self._trt.nptype(dt)).type
        except (TypeError, AttributeError):
            np_dt = _NP_DTYPES.get(getattr(dt, "name", str(dt)).upper())
            if np_dt is None:
                raise EdgemefError(f"{self.path.name}: tensor '{name}' has type {dt}, which numpy cannot hold") from None
            return np_dt

    def _buffer(self, name: str, nbytes: int) -> int:
        ptr, size = self._buffers.get(name, (0, 0))
        if size < nbytes:
            if ptr:
                _check(self.cudart.cudaFree(ptr), "cudaFree")
            ptr = int(_check(self.cudart.cudaMalloc(nbytes), "cudaMalloc"))
            self._buffers[name] = (ptr, nbytes)
        return ptr

    def infer(self, x: np.ndarray, extra: dict[str, np.ndarray] | None = None) -> np.ndarray:
        extras = {n: np.ascontiguousarray(a, dtype=self._np_dtype(n)) for n, a in self._check_extra(extra).items()}
        x = np.ascontiguousarray(self._check_input(x), dtype=self.in_dtype)
        h, w = x.shape[2:]
        if self.min_hw and (h < self.min_hw[0] or w < self.min_hw[1]):
            raise EdgemefError(f"{self.path.name}: input {h}x{w} is below the engine's profile minimum "
                               f"{self.min_hw[0]}x{self.min_hw[1]}")
        cudart, kind = self.cudart, self.cudart.cudaMemcpyKind
        if not self.context.set_input_shape(self.input_name, tuple(x.shape)):
            raise EdgemefError(f"{self.path.name}: the engine rejects input shape {tuple(x.shape)}")
        for name, a in extras.items():  # per-image inputs (exposure ratios): static shapes, set anyway
            if not self.context.set_input_shape(name, tuple(a.shape)):
                raise EdgemefError(f"{self.path.name}: the engine rejects shape {tuple(a.shape)} for '{name}'")
        out_shape = tuple(self.context.get_tensor_shape(self.output_name))
        y = np.empty(out_shape, dtype=self.out_dtype)
        d_in = self._buffer(self.input_name, x.nbytes)
        d_out = self._buffer(self.output_name, y.nbytes)
        self.context.set_tensor_address(self.input_name, d_in)
        self.context.set_tensor_address(self.output_name, d_out)
        for name in self.extra_outputs:
            shp = tuple(self.context.get_tensor_shape(name))
            nbytes = int(np.prod(shp)) * np.dtype(self._np_dtype(name)).itemsize
            self.context.set_tensor_address(name, self._buffer(name, max(nbytes, 1)))
        _check(cudart.cudaMemcpyAsync(d_in, x.ctypes.data, x.nbytes, kind.cudaMemcpyHostToDevice, self.stream),
               "cudaMemcpyAsync")
        for name, a in extras.items():
            d_a = self._buffer(name, a.nbytes)
            self.context.set_tensor_address(name, d_a)
            _check(cudart.cudaMemcpyAsync(d_a, a.ctypes.data, a.nbytes, kind.cudaMemcpyHostToDevice, self.stream),
                   "cudaMemcpyAsync")
        if not self.context.execute_async_v3(int(self.stream)):
            raise EdgemefError(f"{self.path.name}: TensorRT execution failed (see the TensorRT log above)")
        _check(cudart.cudaMemcpyAsync(y.ctypes.data, d_out, y.nbytes, kind.cudaMemcpyDeviceToHost, self.stream),
               "cudaMemcpyAsync")
        _check(cudart.cudaStreamSynchronize(self.stream), "cudaStreamSynchronize")
        return y.astype(np.float32, copy=False)

    def close(self) -> None:
        """Free device buffers and the stream (also done at garbage collection)."""
        cudart = getattr(self, "cudart", None)
        if cudart is None:
            return
        for ptr, _ in getattr(self, "_buffers", {}).values():
            cudart.cudaFree(ptr)
        self._buffers = {}
        if getattr(self, "stream", None) is not None:
            cudart.cudaStreamDestroy(self.stream)
            self.stream = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def info(self) -> dict:
        d = super().info()
        d["device"] = f"cuda:{self.gpu}"
        d.pop("threads", None)
        return d
