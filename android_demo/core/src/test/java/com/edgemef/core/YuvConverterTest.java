package com.edgemef.core;

import static org.junit.Assert.assertEquals;

import java.nio.ByteBuffer;
import org.junit.Test;

public class YuvConverterTest {
    private static YuvConverter.Plane plane(byte[] b, int rowStride, int pixelStride) {
        return new YuvConverter.Plane(ByteBuffer.wrap(b), rowStride, pixelStride);
    }

    @Test
    public void greyAndPrimariesInFullRange() {
        // 2x1 frame: one chroma sample. Y = 128, Cb = Cr = 128 -> grey 128/255
        float[] out = new float[6];
        YuvConverter.toRgb(plane(new byte[] {(byte) 128, (byte) 255}, 2, 1), plane(new byte[] {(byte) 128}, 1, 1),
                plane(new byte[] {(byte) 128}, 1, 1), 2, 1, YuvConverter.Range.FULL, out);
        for (int c = 0; c < 3; c++) {
            assertEquals(128 / 255.0, out[c], 1e-6);
            assertEquals(1.0, out[3 + c], 1e-6);
        }
        // Cr = 192: R = Y + 1.402 * 64/255, G = Y - 0.714136 * 64/255 (JFIF)
        YuvConverter.toRgb(plane(new byte[] {100, 100}, 2, 1), plane(new byte[] {(byte) 128}, 1, 1),
                plane(new byte[] {(byte) 192}, 1, 1), 2, 1, YuvConverter.Range.FULL, out);
        assertEquals((100 + 1.402 * 64) / 255.0, out[0], 1e-5);
        assertEquals((100 - 0.714136 * 64) / 255.0, out[1], 1e-5);
        assertEquals(100 / 255.0, out[2], 1e-6);
    }

    @Test
    public void limitedRangeMaps16To235OntoBlackAndWhite() {
        float[] out = new float[6];
        YuvConverter.toRgb(plane(new byte[] {16, (byte) 235}, 2, 1), plane(new byte[] {(byte) 128}, 1, 1),
                plane(new byte[] {(byte) 128}, 1, 1), 2, 1, YuvConverter.Range.LIMITED, out);
        assertEquals(0.0, out[0], 1e-6);
        assertEquals(1.0, out[3], 1e-6);
    }

    @Test
    public void rowPaddingAndInterleavedChromaAreHonoured() {
        // 4x2 frame, Y rows padded to 8 bytes; semi-planar chroma (pixel stride 2, row stride 8)
        int w = 4, h = 2;
        byte[] y = new byte[16];
        for (int r = 0; r < h; r++) {
            for (int c = 0; c < w; c++) {
                y[r * 8 + c] = (byte) (100 + 10 * c + r);
            }
            for (int c = w; c < 8; c++) {
                y[r * 8 + c] = (byte) 255;  // padding must not leak in
            }
        }
        byte[] uv = {(byte) 128, (byte) 128, (byte) 128, (byte) 128, 0, 0, 0, 0};  // U,V,U,V + padding
        ByteBuffer all = ByteBuffer.wrap(uv);
        ByteBuffer u = all.duplicate();
        ByteBuffer v = all.duplicate();
        v.position(1);
        v = v.slice();
        float[] out = new float[w * h * 3];
        YuvConverter.toRgb(plane(y, 8, 1), new YuvConverter.Plane(u, 8, 2), new YuvConverter.Plane(v, 8, 2), w, h,
                YuvConverter.Range.FULL, out);
        for (int r = 0; r < h; r++) {
            for (int c = 0; c < w; c++) {
                assertEquals((100 + 10 * c + r) / 255.0, out[3 * (r * w + c)], 1e-6);
            }
        }
    }

    @Test
    public void nv21AndI420OfTheSameFrameAgree() {
        int w = 6, h = 4;
        byte[] i420 = new byte[w * h * 3 / 2];
        byte[] nv21 = new byte[i420.length];
        for (int i = 0; i < w * h; i++) {
            i420[i] = nv21[i] = (byte) (i * 7);
        }
        int q = w * h / 4;
        for (int i = 0; i < q; i++) {
            byte u = (byte) (90 + 11 * i), v = (byte) (200 - 13 * i);
            i420[w * h + i] = u;
            i420[w * h + q + i] = v;
            nv21[w * h + 2 * i] = v;
            nv21[w * h + 2 * i + 1] = u;
        }
        float[] a = new float[w * h * 3], b = new float[w * h * 3];
        YuvConverter.Plane[] p = YuvConverter.i420Planes(i420, w, h);
        YuvConverter.toRgb(p[0], p[1], p[2], w, h, YuvConverter.Range.FULL, a);
        p = YuvConverter.nv21Planes(nv21, w, h);
        YuvConverter.toRgb(p[0], p[1], p[2], w, h, YuvConverter.Range.FULL, b);
        for (int i = 0; i < a.length; i++) {
            assertEquals(a[i], b[i], 0f);
        }
    }

    @Test(expected = IllegalArgumentException.class)
    public void aTruncatedPlaneIsRefused() {
        YuvConverter.toRgb(plane(new byte[5], 4, 1), plane(new byte[2], 2, 1), plane(new byte[2], 2, 1), 4, 2,
                YuvConverter.Range.FULL, new float[24]);
    }
}
