package com.edgemef.core;

import static org.junit.Assert.assertEquals;

import org.junit.Test;

public class ChromaMergeTest {
    private static final float[][] LABS = {{50, 10, -20}, {60, 30, 40}};

    @Test
    public void meanIsThePlainAverage() {
        float[] ab = ChromaMerge.merge(LABS, "mean", 1);
        assertEquals(20.0, ab[0], 1e-6);
        assertEquals(10.0, ab[1], 1e-6);
    }

    @Test
    public void saturationFavoursTheMoreColourfulFrame() {
        float[] ab = ChromaMerge.merge(LABS, "saturation", 1);
        double w0 = Math.hypot(10, -20), w1 = Math.hypot(30, 40);
        assertEquals((10 * w0 + 30 * w1) / (w0 + w1), ab[0], 1e-4);
        assertEquals((-20 * w0 + 40 * w1) / (w0 + w1), ab[1], 1e-4);
    }

    @Test(expected = IllegalArgumentException.class)
    public void unknownModeIsRefused() {
        ChromaMerge.merge(LABS, "max", 1);
    }
}
