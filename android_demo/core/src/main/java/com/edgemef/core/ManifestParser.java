package com.edgemef.core;

import java.util.List;
import java.util.Map;

/**
 * Reads the JSON manifest that {@code edgemef export --target ort-mobile} writes beside the
 * {@code .ort} model (the same schema as {@code edgemef.manifest.Manifest.to_json}).
 *
 * <p>Required: model, format, exposures, colour_space, input_name, output_name, pad_multiple.
 * Optional with the Python defaults: precision "fp32", input_range [0, 1], output "ldr",
 * chroma "mean", shape null, extra_inputs [], schema 1. Unknown keys are ignored (newer exporters
 * add fields); a schema newer than {@link #SCHEMA_VERSION} is refused.
 */
public final class ManifestParser {
    /** The newest manifest schema this parser understands ({@code edgemef.manifest.SCHEMA_VERSION}). */
    public static final int SCHEMA_VERSION = 1;

    private ManifestParser() {
    }

    /**
     * Parses a manifest.
     *
     * @throws ManifestException naming the bad or missing field
     */
    public static FusionManifest parse(String json) throws ManifestException {
        Object root;
        try {
            root = Json.parse(json);
        } catch (IllegalArgumentException e) {
            throw new ManifestException("model manifest is not valid JSON (" + e.getMessage() + ")");
        }
        if (!(root instanceof Map)) {
            throw new ManifestException("model manifest must be a JSON object");
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> m = (Map<String, Object>) root;
        Object schema = m.get("schema");
        if (schema != null && integer(m, "schema", 0) > SCHEMA_VERSION) {
            throw new ManifestException("model manifest schema " + integer(m, "schema", 0)
                    + " is newer than this app supports (" + SCHEMA_VERSION + ")");
        }
        String model = text(m, "model", true, null);
        String format = text(m, "format", true, null);
        String precision = text(m, "precision", false, "fp32");
        int exposures = integer(m, "exposures", 1);
        String colour = oneOf(m, "colour_space", true, null, "lab-l", "rgb");
        float[] range = range(m);
        String inputName = text(m, "input_name", true, null);
        String outputName = text(m, "output_name", true, null);
        String output = oneOf(m, "output", false, "ldr", "ldr", "hdr");
        String chroma = oneOf(m, "chroma", false, "mean", "mean", "saturation");
        int[] shape = shape(m);
        int pad = integer(m, "pad_multiple", 1);
        String[] extra = extraInputs(m);
        return new FusionManifest(model, format, precision, exposures, colour, range, inputName, outputName,
                output, chroma, shape, pad, extra);
    }

    private static ManifestException bad(String key, String what) {
        return new ManifestException("model manifest field '" + key + "' " + what);
    }

    private static String text(Map<String, Object> m, String key, boolean required, String dflt)
            throws ManifestException {
        if (!m.containsKey(key) || m.get(key) == null) {
            if (required) {
                throw bad(key, "is missing");
            }
            return dflt;
        }
        Object v = m.get(key);
        if (!(v instanceof String) || ((String) v).isEmpty()) {
            throw bad(key, "must be a non-empty string, got " + v);
        }
        return (String) v;
    }

    private static String oneOf(Map<String, Object> m, String key, boolean required, String dflt, String... allowed)
            throws ManifestException {
        String v = text(m, key, required, dflt);
        for (String a : allowed) {
            if (a.equals(v)) {
                return v;
            }
        }
        throw bad(key, "is '" + v + "'; this app knows " + String.join(", ", allowed));
    }

    private static int toInt(String key, Object v, int least) throws ManifestException {
        if (!(v instanceof Double)) {
            throw bad(key, "must be an integer, got " + v);
        }
        double d = (Double) v;
        if (d != Math.rint(d) || Math.abs(d) > 1e9) {
            throw bad(key, "must be an integer, got " + v);
        }
        if (d < least) {
            throw bad(key, "must be >= " + least + ", got " + (long) d);
        }
        return (int) d;
    }

    private static int integer(Map<String, Object> m, String key, int least) throws ManifestException {
        if (!m.containsKey(key) || m.get(key) == null) {
            throw bad(key, "is missing");
        }
        return toInt(key, m.get(key), least);
    }

    private static float[] range(Map<String, Object> m) throws ManifestException {
        Object v = m.get("input_range");
        if (v == null) {
            return new float[] {0f, 1f};
        }
        if (!(v instanceof List) || ((List<?>) v).size() != 2) {
            throw bad("input_range", "must be [lo, hi], got " + v);
        }
        List<?> l = (List<?>) v;
        if (!(l.get(0) instanceof Double) || !(l.get(1) instanceof Double)) {
            throw bad("input_range", "must hold two numbers, got " + v);
        }
        float lo = ((Double) l.get(0)).floatValue();
        float hi = ((Double) l.get(1)).floatValue();
        if (!(hi > lo)) {
            throw bad("input_range", "must have lo < hi, got " + v);
        }
        return new float[] {lo, hi};
    }

    private static int[] shape(Map<String, Object> m) throws ManifestException {
        Object v = m.get("shape");
        if (v == null) {
            return null;
        }
        if (!(v instanceof List) || ((List<?>) v).size() != 2) {
            throw bad("shape", "must be null or [H, W], got " + v);
        }
        List<?> l = (List<?>) v;
        return new int[] {toInt("shape", l.get(0), 1), toInt("shape", l.get(1), 1)};
    }

    private static String[] extraInputs(Map<String, Object> m) throws ManifestException {
        Object v = m.get("extra_inputs");
        if (v == null) {
            return new String[0];
        }
        if (!(v instanceof List)) {
            throw bad("extra_inputs", "must be a list, got " + v);
        }
        List<?> l = (List<?>) v;
        String[] out = new String[l.size()];
        for (int i = 0; i < out.length; i++) {
            Object e = l.get(i);
            if (!(e instanceof Map) || !(((Map<?, ?>) e).get("name") instanceof String)) {
                throw bad("extra_inputs", "entry " + i + " lacks a 'name'");
            }
            out[i] = (String) ((Map<?, ?>) e).get("name");
        }
        return out;
    }
}
