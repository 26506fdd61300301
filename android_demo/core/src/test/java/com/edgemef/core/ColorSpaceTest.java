package com.edgemef.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.Random;
import org.junit.Test;

public class ColorSpaceTest {
    @Test
    public void whiteAndBlackHitTheEndsOfL() {
        float[] lab = ColorSpace.rgbToLab(new float[] {1, 1, 1, 0, 0, 0});
        assertEquals(100.0, lab[0], 1e-3);
        assertEquals(0.0, lab[1], 1e-2);
        assertEquals(0.0, lab[2], 1e-2);
        assertEquals(0.0, lab[3], 1e-6);
        assertEquals(0.0, lab[4], 1e-6);
    }

    @Test
    public void knownColoursMatchTheCieFormulas() {
        // sRGB red and mid grey, D65 (reference values of the same formulas in double precision)
        float[] lab = ColorSpace.rgbToLab(new float[] {1, 0, 0, 0.5f, 0.5f, 0.5f});
        assertEquals(53.2408, lab[0], 2e-3);
        assertEquals(80.0925, lab[1], 5e-3);
        assertEquals(67.2032, lab[2], 5e-3);
        assertEquals(53.3890, lab[3], 2e-3);
    }

    @Test
    public void roundTripIsExactToFloatPrecision() {
        Random r = new Random(1);
        int n = 2000;
        float[] rgb = new float[n * 3];
        for (int i = 0; i < rgb.length; i++) {
            rgb[i] = r.nextFloat();
        }
        float[] lab = ColorSpace.rgbToLab(rgb);
        float[] back = new float[rgb.length];
        ColorSpace.labToRgb(lab, back, n);
        for (int i = 0; i < rgb.length; i++) {
            assertEquals(rgb[i], back[i], 2e-5);
        }
    }

    @Test
    public void labToRgbClipsOutOfGamutColours() {
        float[] out = new float[3];
        ColorSpace.labToRgb(50, 120, -120, out, 0);
        for (float v : out) {
            assertTrue(v >= 0f && v <= 1f);
        }
    }

    @Test
    public void composeClipsTheFusedLuminance() {
        float[] rgb = ColorSpace.compose(new float[] {1.7f, -0.3f}, new float[] {0, 0, 0, 0}, 2);
        assertEquals(1.0, rgb[0], 1e-4);
        assertEquals(0.0, rgb[3], 1e-6);
    }
}
