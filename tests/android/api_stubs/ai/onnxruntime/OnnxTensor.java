package ai.onnxruntime;
import java.nio.FloatBuffer;
public class OnnxTensor extends OnnxTensorLike {
    public static OnnxTensor createTensor(OrtEnvironment env, FloatBuffer data, long[] shape) throws OrtException { throw new RuntimeException("stub"); }
    public FloatBuffer getFloatBuffer() { throw new RuntimeException("stub"); }
    @Override
    public void close() { throw new RuntimeException("stub"); }
}
