package com.edgemef.core;

/**
 * Merges the a/b planes of the input frames for a "lab-l" network (whose output is only the fused
 * L), as {@code edgemef.netio.merged_chroma}: the manifest's chroma "mean" is the plain mean of the
 * inputs' a and b (DenseFuse's paper); "saturation" weights each frame per pixel by its chroma
 * magnitude {@code hypot(a, b) + 1e-6}, favouring the more saturated colour.
 */
public final class ChromaMerge {
    private ChromaMerge() {
    }

    /**
     * @param labs per-frame (H, W, 3) CIELAB images
     * @param mode "mean" or "saturation"
     * @return (H * W * 2) a/b interleaved
     */
    public static float[] merge(float[][] labs, String mode, int count) {
        boolean weighted;
        if ("mean".equals(mode)) {
            weighted = false;
        } else if ("saturation".equals(mode)) {
            weighted = true;
        } else {
            throw new IllegalArgumentException("unknown chroma mode '" + mode + "' (use mean or saturation)");
        }
        int n = labs.length;
        float[] out = new float[count * 2];
        for (int p = 0; p < count; p++) {
            double sa = 0, sb = 0, sw = 0;
            for (float[] lab : labs) {
                float a = lab[3 * p + 1], b = lab[3 * p + 2];
                double w = weighted ? Math.hypot(a, b) + 1e-6 : 1.0;
                sa += a * w;
                sb += b * w;
                sw += w;
            }
            out[2 * p] = (float) (weighted ? sa / sw : sa / n);
            out[2 * p + 1] = (float) (weighted ? sb / sw : sb / n);
        }
        return out;
    }
}
