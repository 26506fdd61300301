package com.edgemef.core;

import java.nio.ByteBuffer;

/**
 * {@code YUV_420_888} (three planes with row and pixel strides, as {@code android.media.Image}
 * hands them out) to interleaved RGB float in [0, 1].
 *
 * <p>Matrix: BT.601 (Kr = 0.299, Kb = 0.114). Range: {@link Range#FULL} is JFIF (Y, Cb, Cr all
 * 0..255, chroma centred on 128), which is what Camera2 YUV outputs use unless the image says
 * otherwise; {@link Range#LIMITED} is the video range (Y 16..235, chroma 16..240), what OpenCV's
 * {@code COLOR_YUV2RGB_NV21} / {@code _I420} assume. The Android side picks the range from
 * {@code Image.getDataSpace()} where the platform reports one (API 33+) and uses FULL otherwise.
 *
 * <p>Chroma is 2x2 subsampled and upsampled by replication (each 2x2 block shares one Cb/Cr sample,
 * as OpenCV does). Plane buffers are read with absolute indices from 0; their position is ignored.
 */
public final class YuvConverter {
    /** YCbCr quantisation range. */
    public enum Range { FULL, LIMITED }

    /** One plane of an image: its bytes and strides. */
    public static final class Plane {
        public final ByteBuffer buffer;
        public final int rowStride;
        public final int pixelStride;

        public Plane(ByteBuffer buffer, int rowStride, int pixelStride) {
            this.buffer = buffer;
            this.rowStride = rowStride;
            this.pixelStride = pixelStride;
        }
    }

    static final double KR = 0.299, KB = 0.114, KG = 1.0 - KR - KB;
    static final double CR_R = 2 * (1 - KR);
    static final double CB_B = 2 * (1 - KB);
    static final double CB_G = 2 * KB * (1 - KB) / KG;
    static final double CR_G = 2 * KR * (1 - KR) / KG;

    private YuvConverter() {
    }

    /**
     * Converts one frame.
     *
     * @param out (height * width * 3) RGB, row-major, overwritten
     * @throws IllegalArgumentException when a plane is too small for the size and strides
     */
    public static void toRgb(Plane y, Plane u, Plane v, int width, int height, Range range, float[] out) {
        if (width <= 0 || height <= 0 || out.length < width * height * 3) {
            throw new IllegalArgumentException("bad size " + width + "x" + height + " or output too small");
        }
        int cw = (width + 1) / 2, ch = (height + 1) / 2;
        check(y, width, height, "Y");
        check(u, cw, ch, "U");
        check(v, cw, ch, "V");
        double yOff, yScale, cScale;
        if (range == Range.FULL) {
            yOff = 0;
            yScale = 1 / 255.0;
            cScale = 1 / 255.0;
        } else {
            yOff = 16;
            yScale = 1 / 219.0;
            cScale = 1 / 224.0;
        }
        ByteBuffer yb = y.buffer, ub = u.buffer, vb = v.buffer;
        for (int row = 0; row < height; row++) {
            int yRow = row * y.rowStride;
            int cRow = (row >> 1);
            int uRow = cRow * u.rowStride, vRow = cRow * v.rowStride;
            int o = row * width * 3;
            for (int col = 0; col < width; col++, o += 3) {
                double yy = ((yb.get(yRow + col * y.pixelStride) & 0xFF) - yOff) * yScale;
                int cc = col >> 1;
                double cb = ((ub.get(uRow + cc * u.pixelStride) & 0xFF) - 128) * cScale;
                double cr = ((vb.get(vRow + cc * v.pixelStride) & 0xFF) - 128) * cScale;
                out[o] = clip(yy + CR_R * cr);
                out[o + 1] = clip(yy - CB_G * cb - CR_G * cr);
                out[o + 2] = clip(yy + CB_B * cb);
            }
        }
    }

    private static float clip(double x) {
        return (float) (x < 0 ? 0 : x > 1 ? 1 : x);
    }

    private static void check(Plane p, int w, int h, String name) {
        if (p.pixelStride < 1 || p.rowStride < (w - 1) * p.pixelStride + 1) {
            throw new IllegalArgumentException(name + " plane strides (" + p.rowStride + ", " + p.pixelStride
                    + ") too small for width " + w);
        }
        long need = (long) (h - 1) * p.rowStride + (long) (w - 1) * p.pixelStride + 1;
        if (p.buffer.limit() < need) {
            throw new IllegalArgumentException(name + " plane has " + p.buffer.limit() + " bytes, needs " + need);
        }
    }

    /** An NV21 byte array (Y plane, then interleaved V/U) as three planes, as Android presents it. */
    public static Plane[] nv21Planes(byte[] data, int width, int height) {
        ByteBuffer all = ByteBuffer.wrap(data);
        int ySize = width * height;
        int cw = (width + 1) / 2;
        ByteBuffer vu = slice(all, ySize);
        ByteBuffer uv = slice(all, ySize + 1);
        return new Plane[] {new Plane(slice(all, 0), width, 1), new Plane(uv, 2 * cw, 2), new Plane(vu, 2 * cw, 2)};
    }

    /** An I420 byte array (Y, then U, then V planes, each tightly packed). */
    public static Plane[] i420Planes(byte[] data, int width, int height) {
        ByteBuffer all = ByteBuffer.wrap(data);
        int ySize = width * height;
        int cw = (width + 1) / 2, ch = (height + 1) / 2;
        return new Plane[] {new Plane(slice(all, 0), width, 1), new Plane(slice(all, ySize), cw, 1),
            new Plane(slice(all, ySize + cw * ch), cw, 1)};
    }

    private static ByteBuffer slice(ByteBuffer b, int offset) {
        ByteBuffer d = b.duplicate();
        d.position(offset);
        return d.slice();
    }
}
