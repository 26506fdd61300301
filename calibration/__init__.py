"""INT8 calibration: bracket sets -> network inputs -> activation ranges -> QDQ graphs per backend.

* :mod:`~edgemef.calibration.data`: calibration inputs through the runtime's own preprocessing;
* :mod:`~edgemef.calibration.ranges`: MinMax / entropy / percentile ranges, a digested JSON table;
* :mod:`~edgemef.calibration.qdq`: one table, several QDQ flavours (ONNX Runtime CPU, TensorRT, OpenVINO);
* :mod:`~edgemef.calibration.sensitive`: the nodes a reduced-precision graph keeps fp32, and why;
* :mod:`~edgemef.calibration.trt_check`: is an ONNX ready for TensorRT's parser?

numpy + OpenCV at import; onnx / onnxruntime inside the functions that need them.
"""
from edgemef.calibration.data import CalibrationSet, SmallCalibrationSetWarning, calibration_set
from edgemef.calibration.ranges import METHODS, CalibrationTable, calibrate
from edgemef.calibration.qdq import FLAVOURS, emit_qdq
from edgemef.calibration.trt_check import TrtReport, check_tensorrt_ready, require_tensorrt_ready

__all__ = ["CalibrationSet", "SmallCalibrationSetWarning", "calibration_set", "METHODS", "CalibrationTable",
           "calibrate", "FLAVOURS", "emit_qdq", "TrtReport", "check_tensorrt_ready", "require_tensorrt_ready"]
