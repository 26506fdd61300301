package com.edgemef.core;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.Test;

public class FusionPipelineTest {
    private static FusionManifest manifest(String colour, int pad, String range) throws ManifestException {
        return ManifestParser.parse(ManifestParserTest.GOOD.replace("\"lab-l\"", "\"" + colour + "\"")
                .replace("\"pad_multiple\": 1", "\"pad_multiple\": " + pad).replace("[0.0, 1.0]", range));
    }

    private static RgbImage random(int w, int h, long seed) {
        Random r = new Random(seed);
        float[] d = new float[w * h * 3];
        for (int i = 0; i < d.length; i++) {
            d[i] = r.nextFloat();
        }
        return new RgbImage(w, h, d);
    }

    /** The mean of the input planes: what a "fuse by averaging" network outputs. */
    static final class MeanNetwork implements FusionNetwork {
        final int outChannels;

        MeanNetwork(int outChannels) {
            this.outChannels = outChannels;
        }

        @Override
        public Tensor run(Tensor x) {
            int c = (int) x.shape[1], hw = (int) (x.shape[2] * x.shape[3]);
            int frames = c / outChannels;
            float[] y = new float[outChannels * hw];
            for (int k = 0; k < c; k++) {
                for (int p = 0; p < hw; p++) {
                    y[(k % outChannels) * hw + p] += x.data[k * hw + p] / frames;
                }
            }
            return new Tensor(y, new long[] {1, outChannels, x.shape[2], x.shape[3]});
        }
    }

    @Test
    public void labInputIsLOver100PerFrame() throws Exception {
        FusionPipeline pipe = new FusionPipeline(manifest("lab-l", 1, "[0.0, 1.0]"));
        RgbImage a = random(5, 3, 1), b = random(5, 3, 2);
        FusionPipeline.Prepared p = pipe.prepare(Arrays.asList(a, b));
        assertArrayEquals(new long[] {1, 2, 3, 5}, p.input.shape);
        float[] la = ColorSpace.rgbToLab(a.data);
        assertEquals(la[3 * 7] / 100f, p.input.data[7], 1e-7);
    }

    @Test
    public void identicalFramesThroughAMeanNetworkComeBackUnchanged() throws Exception {
        FusionPipeline pipe = new FusionPipeline(manifest("lab-l", 8, "[0.0, 1.0]"));
        RgbImage a = random(13, 9, 3);
        FusionPipeline.Result r = pipe.fuse(new MeanNetwork(1), Arrays.asList(a, a));
        assertEquals(13, r.image.width);
        assertEquals(9, r.image.height);
        for (int i = 0; i < a.data.length; i++) {
            assertEquals(a.data[i], r.image.data[i], 3e-5);
        }
        assertTrue(r.inferMs >= 0 && r.prepareMs >= 0 && r.composeMs >= 0);
    }

    @Test
    public void rgbModelsWithAnInputRangeRoundTrip() throws Exception {
        FusionPipeline pipe = new FusionPipeline(manifest("rgb", 1, "[-1.0, 1.0]"));
        RgbImage a = random(4, 4, 4), b = random(4, 4, 5);
        FusionPipeline.Prepared p = pipe.prepare(Arrays.asList(a, b));
        assertArrayEquals(new long[] {1, 6, 4, 4}, p.input.shape);
        assertEquals(a.data[0] * 2 - 1, p.input.data[0], 1e-6);  // frame 0, R, pixel 0
        assertEquals(b.data[3 * 5 + 2] * 2 - 1, p.input.data[5 * 16 + 5], 1e-6);  // frame 1, B, pixel 5
        RgbImage out = pipe.finish(new MeanNetwork(3).run(p.input), p);
        assertEquals((a.data[4] + b.data[4]) / 2, out.data[4], 1e-6);
    }

    @Test
    public void paddingFollowsNetioPaddedSizeAndNumpyPadModes() throws Exception {
        FusionPipeline pipe = new FusionPipeline(manifest("lab-l", 16, "[0.0, 1.0]"));
        assertArrayEquals(new int[] {32, 368}, pipe.paddedSize(20, 360));  // at least 2 * 16
        assertArrayEquals(new int[] {48, 48}, pipe.paddedSize(33, 48));
        // reflect (pad < n): 0 1 2 3 | 2 1; symmetric (pad <= n): 0 1 2 | 2 1 0; edge otherwise
        assertEquals(2, FusionPipeline.padIndex(4, 4, 0));
        assertEquals(1, FusionPipeline.padIndex(5, 4, 0));
        assertEquals(2, FusionPipeline.padIndex(3, 3, 1));
        assertEquals(0, FusionPipeline.padIndex(5, 3, 1));
        assertEquals(2, FusionPipeline.padIndex(9, 3, 2));
        RgbImage a = random(3, 2, 6);
        FusionPipeline.Prepared p = pipe.prepare(Arrays.asList(a, a));
        assertArrayEquals(new long[] {1, 2, 32, 32}, p.input.shape);  // pad > n: numpy 'edge'
        assertEquals(p.input.data[2], p.input.data[31], 0f);
        assertEquals(p.input.data[32 + 2], p.input.data[31 * 32 + 31], 0f);
    }

    @Test
    public void wrongInputsAndOutputsAreRefused() throws Exception {
        FusionPipeline pipe = new FusionPipeline(manifest("lab-l", 1, "[0.0, 1.0]"));
        List<RgbImage> one = Arrays.asList(random(4, 4, 1));
        try {
            pipe.prepare(one);
            fail();
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage().contains("fuses 2 exposures, got 1"));
        }
        try {
            pipe.prepare(Arrays.asList(random(4, 4, 1), random(4, 5, 1)));
            fail();
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage().contains("differ in size"));
        }
        FusionPipeline.Prepared p = pipe.prepare(Arrays.asList(random(4, 4, 1), random(4, 4, 2)));
        try {
            pipe.finish(new Tensor(new float[3 * 16], new long[] {1, 3, 4, 4}), p);
            fail();
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage().contains("expected (1, 1"));
        }
    }

    @Test
    public void hdrModelsAndExtraInputsAreRefusedUpFront() throws ManifestException {
        for (String change : new String[] {"\"output\": \"hdr\"",
            "\"extra_inputs\": [{\"name\": \"exposure_ratios\", \"shape\": [1, 2]}]"}) {
            String key = change.substring(0, change.indexOf(':'));
            String json = ManifestParserTest.GOOD.replaceAll(key + ": (\"ldr\"|\\[\\])", java.util.regex.Matcher.quoteReplacement(change));
            try {
                new FusionPipeline(ManifestParser.parse(json));
                fail(json);
            } catch (ManifestException e) {
                assertTrue(e.getMessage().contains("densefuse"));
            }
        }
    }

    @Test
    public void argbQuantisationMatchesEdgemefIo() {
        assertEquals(0, RgbImage.to8bit(-0.1f));
        assertEquals(128, RgbImage.to8bit(0.5f));
        assertEquals(255, RgbImage.to8bit(1.2f));
        int[] argb = new RgbImage(1, 1, new float[] {1f, 0.5f, 0f}).toArgb();
        assertEquals(0xFFFF8000, argb[0]);
    }
}
