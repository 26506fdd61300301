package com.edgemef.demo;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import android.util.Log;
import com.edgemef.core.FusionManifest;
import com.edgemef.core.FusionNetwork;
import com.edgemef.core.Tensor;
import java.nio.FloatBuffer;
import java.util.Collections;

/** The fusion network on the phone: an ONNX Runtime session over the .ort model from the assets. */
final class OrtFusionNetwork implements FusionNetwork {
    private static final String TAG = "edgemef";
    private final OrtEnvironment env;
    private final OrtSession.SessionOptions options;
    private final OrtSession session;
    private final String inputName;
    private final String outputName;

    OrtFusionNetwork(byte[] model, FusionManifest manifest, int threads) throws OrtException {
        env = OrtEnvironment.getEnvironment();
        options = new OrtSession.SessionOptions();
        options.setIntraOpNumThreads(threads);
        session = env.createSession(model, options);
        if (!session.getInputNames().contains(manifest.inputName)
                || !session.getOutputNames().contains(manifest.outputName)) {
            String found = session.getInputNames() + " -> " + session.getOutputNames();
            close();
            throw new IllegalStateException("the model's graph has inputs/outputs " + found + ", its manifest says "
                    + manifest.inputName + " -> " + manifest.outputName);
        }
        inputName = manifest.inputName;
        outputName = manifest.outputName;
    }

    @Override
    public Tensor run(Tensor input) throws OrtException {
        try (OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(input.data), input.shape);
             OrtSession.Result result = session.run(Collections.singletonMap(inputName, x))) {
            OnnxValue value = result.get(outputName).orElseThrow(
                    () -> new IllegalStateException("the model returned no '" + outputName + "'"));
            OnnxTensor y = (OnnxTensor) value;
            long[] shape = y.getInfo().getShape();
            FloatBuffer buf = y.getFloatBuffer();
            float[] out = new float[buf.remaining()];
            buf.get(out);
            return new Tensor(out, shape);
        }
    }

    @Override
    public void close() {
        try {
            session.close();
        } catch (OrtException e) {
            Log.w(TAG, "closing the ONNX Runtime session", e);
        }
        options.close();
    }
}
