package ai.onnxruntime;
import java.util.Iterator;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
public class OrtSession implements AutoCloseable {
    public Set<String> getInputNames() { throw new RuntimeException("stub"); }
    public Set<String> getOutputNames() { throw new RuntimeException("stub"); }
    public Result run(Map<String, ? extends OnnxTensorLike> inputs) throws OrtException { throw new RuntimeException("stub"); }
    @Override
    public void close() throws OrtException { throw new RuntimeException("stub"); }
    public static class SessionOptions implements AutoCloseable {
        public SessionOptions() { throw new RuntimeException("stub"); }
        public void setIntraOpNumThreads(int numThreads) throws OrtException { throw new RuntimeException("stub"); }
        @Override
        public void close() { throw new RuntimeException("stub"); }
    }
    public static class Result implements AutoCloseable, Iterable<Map.Entry<String, OnnxValue>> {
        public OnnxValue get(int index) { throw new RuntimeException("stub"); }
        public Optional<OnnxValue> get(String key) { throw new RuntimeException("stub"); }
        public int size() { throw new RuntimeException("stub"); }
        @Override
        public Iterator<Map.Entry<String, OnnxValue>> iterator() { throw new RuntimeException("stub"); }
        @Override
        public void close() { throw new RuntimeException("stub"); }
    }
}
