package com.edgemef.core;

/**
 * The network call, behind an interface so the pipeline runs anywhere: the app wraps an ONNX
 * Runtime {@code OrtSession}; the tests use plain Java networks or the Python runtime's output.
 */
public interface FusionNetwork extends AutoCloseable {
    /**
     * Runs the graph.
     *
     * @param input (1, exposures * channels, Hp, Wp), named by the manifest's input_name
     * @return (1, channels, Hp, Wp), the manifest's output_name
     */
    Tensor run(Tensor input) throws Exception;

    /** Frees the network (an ORT session); errors are the implementation's to log. */
    @Override
    default void close() {
    }
}
