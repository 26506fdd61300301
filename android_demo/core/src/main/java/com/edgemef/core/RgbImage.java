package com.edgemef.core;

/** An (H, W, 3) float RGB image in [0, 1], row-major, interleaved (sRGB-encoded values). */
public final class RgbImage {
    public final int width;
    public final int height;
    public final float[] data;

    public RgbImage(int width, int height, float[] data) {
        if (width <= 0 || height <= 0 || data.length != width * height * 3) {
            throw new IllegalArgumentException("RGB image " + width + "x" + height + " needs "
                    + (long) width * height * 3 + " floats, got " + data.length);
        }
        this.width = width;
        this.height = height;
        this.data = data;
    }

    public RgbImage(int width, int height) {
        this(width, height, new float[width * height * 3]);
    }

    public int pixels() {
        return width * height;
    }

    /** One channel value to 8 bits as {@code edgemef.io} writes files: floor(clip(x * 255 + 0.5)). */
    public static int to8bit(float x) {
        float v = x * 255f + 0.5f;
        return v <= 0f ? 0 : v >= 255f ? 255 : (int) v;
    }

    /** Opaque ARGB_8888 pixels (what {@code Bitmap.createBitmap(int[], w, h, ARGB_8888)} takes). */
    public int[] toArgb() {
        int[] out = new int[pixels()];
        for (int p = 0; p < out.length; p++) {
            out[p] = 0xFF000000 | (to8bit(data[3 * p]) << 16) | (to8bit(data[3 * p + 1]) << 8) | to8bit(data[3 * p + 2]);
        }
        return out;
    }
}
