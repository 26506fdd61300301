package ai.onnxruntime;
public abstract class OnnxTensorLike implements OnnxValue {
    public TensorInfo getInfo() { throw new RuntimeException("stub"); }
}
