package com.edgemef.core;

/**
 * sRGB (IEC 61966-2-1, D65) to and from CIELAB, exactly as {@code edgemef/color.py} does it.
 *
 * <p>Same constants (the float32 sRGB/XYZ matrix, white 0.95047 / 1 / 1.08883, epsilon 216/24389,
 * kappa 24389/27), same companding thresholds ({@code c <= 0.04045} linear, {@code <= 0.0031308}
 * on the way back), same clipping (linear RGB clipped to [0, 1] before companding; the fused L
 * clipped to [0, 1] before scaling by 100). Arithmetic is in double and stored as float; the
 * Python side computes in float32, so the two agree to about 1e-6.
 *
 * <p>Images are interleaved float arrays, (H, W, 3) row-major: RGB in [0, 1] (sRGB-encoded) or
 * L in [0, 100], a and b about [-128, 127]. The network input is L / {@link #L_SCALE}.
 */
public final class ColorSpace {
    /** CIELAB L is in [0, 100]; the network sees L / 100. */
    public static final float L_SCALE = 100f;

    static final float[][] RGB2XYZ = {
        {0.4124564f, 0.3575761f, 0.1804375f},
        {0.2126729f, 0.7151522f, 0.0721750f},
        {0.0193339f, 0.1191920f, 0.9503041f},
    };
    static final float[] WHITE = {0.95047f, 1.0f, 1.08883f};
    static final double EPS = 216.0 / 24389.0;
    static final double KAPPA = 24389.0 / 27.0;

    /** RGB2XYZ with row i divided by WHITE[i] (color.py: {@code _RGB2XYZ / _WHITE[:, None]}). */
    private static final double[][] TO_XYZN = new double[3][3];
    /** inverse(RGB2XYZ) with column j times WHITE[j] (color.py: {@code _XYZ2RGB * _WHITE[None, :]}). */
    private static final double[][] FROM_XYZN = new double[3][3];

    static {
        double[][] inv = invert(RGB2XYZ);
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 3; j++) {
                TO_XYZN[i][j] = RGB2XYZ[i][j] / WHITE[i];  // float32, as numpy
                FROM_XYZN[i][j] = (float) inv[i][j] * WHITE[j];  // float32, as numpy
            }
        }
    }

    private ColorSpace() {
    }

    private static double[][] invert(float[][] m) {
        double a = m[0][0], b = m[0][1], c = m[0][2];
        double d = m[1][0], e = m[1][1], f = m[1][2];
        double g = m[2][0], h = m[2][1], i = m[2][2];
        double det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
        return new double[][] {
            {(e * i - f * h) / det, (c * h - b * i) / det, (b * f - c * e) / det},
            {(f * g - d * i) / det, (a * i - c * g) / det, (c * d - a * f) / det},
            {(d * h - e * g) / det, (b * g - a * h) / det, (a * e - b * d) / det},
        };
    }

    static double srgbToLinear(double c) {
        return c <= 0.04045 ? c * (1 / 12.92) : Math.pow(Math.max((c + 0.055) * (1 / 1.055), 0.0), 2.4);
    }

    static double linearToSrgb(double c) {
        c = Math.min(Math.max(c, 0.0), 1.0);
        return c <= 0.0031308 ? c * 12.92 : 1.055 * Math.pow(c, 1 / 2.4) - 0.055;
    }

    private static double f(double t) {
        return t > EPS ? Math.cbrt(t) : (t * KAPPA + 16.0) * (1 / 116.0);
    }

    private static double finv(double f) {
        double f3 = f * f * f;
        return f3 > EPS ? f3 : (f * 116.0 - 16.0) * (1 / KAPPA);
    }

    /**
     * (H, W, 3) sRGB in [0, 1] to (H, W, 3) CIELAB; {@code out} may be {@code rgb} itself.
     *
     * @param count number of pixels
     */
    public static void rgbToLab(float[] rgb, float[] out, int count) {
        for (int p = 0, o = 0; p < count; p++, o += 3) {
            double r = srgbToLinear(rgb[o]), g = srgbToLinear(rgb[o + 1]), b = srgbToLinear(rgb[o + 2]);
            double fx = f(TO_XYZN[0][0] * r + TO_XYZN[0][1] * g + TO_XYZN[0][2] * b);
            double fy = f(TO_XYZN[1][0] * r + TO_XYZN[1][1] * g + TO_XYZN[1][2] * b);
            double fz = f(TO_XYZN[2][0] * r + TO_XYZN[2][1] * g + TO_XYZN[2][2] * b);
            out[o] = (float) (116.0 * fy - 16.0);
            out[o + 1] = (float) (500.0 * (fx - fy));
            out[o + 2] = (float) (200.0 * (fy - fz));
        }
    }

    /** Convenience: a new (H, W, 3) CIELAB array. */
    public static float[] rgbToLab(float[] rgb) {
        float[] out = new float[rgb.length];
        rgbToLab(rgb, out, rgb.length / 3);
        return out;
    }

    /** One CIELAB pixel (L, a, b) to sRGB in [0, 1], written to {@code out[o..o+2]}. */
    public static void labToRgb(double l, double a, double b, float[] out, int o) {
        double fy = (l + 16.0) / 116.0;
        double fx = fy + a / 500.0;
        double fz = fy - b / 200.0;
        double x = finv(fx), y = finv(fy), z = finv(fz);
        out[o] = (float) linearToSrgb(FROM_XYZN[0][0] * x + FROM_XYZN[0][1] * y + FROM_XYZN[0][2] * z);
        out[o + 1] = (float) linearToSrgb(FROM_XYZN[1][0] * x + FROM_XYZN[1][1] * y + FROM_XYZN[1][2] * z);
        out[o + 2] = (float) linearToSrgb(FROM_XYZN[2][0] * x + FROM_XYZN[2][1] * y + FROM_XYZN[2][2] * z);
    }

    /** (H, W, 3) CIELAB to sRGB clipped to [0, 1]; {@code out} may be {@code lab} itself. */
    public static void labToRgb(float[] lab, float[] out, int count) {
        for (int p = 0, o = 0; p < count; p++, o += 3) {
            labToRgb(lab[o], lab[o + 1], lab[o + 2], out, o);
        }
    }

    /**
     * The fused image: luminance (H * W, in [0, 1], clipped) with merged chroma (H * W * 2, a/b
     * interleaved) to (H, W, 3) sRGB in [0, 1]; color.py's {@code compose}.
     */
    public static float[] compose(float[] fusedL, float[] ab, int count) {
        float[] out = new float[count * 3];
        for (int p = 0; p < count; p++) {
            double l = Math.min(Math.max(fusedL[p], 0f), 1f) * L_SCALE;
            labToRgb(l, ab[2 * p], ab[2 * p + 1], out, 3 * p);
        }
        return out;
    }
}
