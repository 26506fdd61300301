package com.edgemef.core;

import java.util.List;

/**
 * Brackets to network input, network output to the fused RGB image: a port of
 * {@code edgemef.netio.prepare_input} / {@code finish_output} for the models the app runs (LDR
 * output, no further graph inputs), so the phone feeds the network exactly what the Python
 * runtime does.
 *
 * <pre>
 * FusionPipeline pipe = new FusionPipeline(manifest);
 * FusionPipeline.Result r = pipe.fuse(network, Arrays.asList(shortFrame, longFrame));
 * </pre>
 *
 * <p>Input: for "lab-l" one CIELAB L / 100 plane per frame, for "rgb" each frame's R, G, B; mapped
 * to the manifest's input_range; padded on the bottom/right to pad_multiple (at least twice it when
 * it is > 1) and the fixed shape, by reflection (numpy's 'reflect', 'symmetric' or 'edge', chosen as
 * netio does). Output: cropped, mapped back from input_range; for "lab-l" the fused L (clipped to
 * [0, 1]) is composed with the inputs' chroma merged per the manifest ({@link ChromaMerge}).
 */
public final class FusionPipeline {
    private final FusionManifest m;

    /** What {@link #finish} needs besides the network output. */
    public static final class Prepared {
        public final Tensor input;
        public final int width;
        public final int height;
        public final int paddedWidth;
        public final int paddedHeight;
        final float[][] labs;

        Prepared(Tensor input, int width, int height, int paddedWidth, int paddedHeight, float[][] labs) {
            this.input = input;
            this.width = width;
            this.height = height;
            this.paddedWidth = paddedWidth;
            this.paddedHeight = paddedHeight;
            this.labs = labs;
        }
    }

    /** A fused image and how long each stage took. */
    public static final class Result {
        public final RgbImage image;
        public final double prepareMs;
        public final double inferMs;
        public final double composeMs;

        Result(RgbImage image, double prepareMs, double inferMs, double composeMs) {
            this.image = image;
            this.prepareMs = prepareMs;
            this.inferMs = inferMs;
            this.composeMs = composeMs;
        }
    }

    /** @throws ManifestException for a model this pipeline cannot drive (HDR output, extra inputs) */
    public FusionPipeline(FusionManifest manifest) throws ManifestException {
        if (!"ldr".equals(manifest.output)) {
            throw new ManifestException("model '" + manifest.model + "' outputs '" + manifest.output
                    + "'; this app shows LDR fusion networks only (e.g. densefuse)");
        }
        if (manifest.extraInputs.length > 0) {
            throw new ManifestException("model '" + manifest.model + "' takes further inputs ("
                    + String.join(", ", manifest.extraInputs) + ") that this app does not make");
        }
        this.m = manifest;
    }

    public FusionManifest manifest() {
        return m;
    }

    /** {Hp, Wp} the network sees for an H x W image ({@code netio.padded_size}). */
    public int[] paddedSize(int height, int width) {
        int k = Math.max(1, m.padMultiple);
        int least = k > 1 ? 2 * k : 1;
        int hp = Math.max(-Math.floorDiv(-height, k) * k, least);
        int wp = Math.max(-Math.floorDiv(-width, k) * k, least);
        if (m.shape != null) {
            if (height > m.shape[0] || width > m.shape[1]) {
                throw new IllegalArgumentException("image " + width + "x" + height + " is larger than the model's "
                        + "fixed shape " + m.shape[1] + "x" + m.shape[0] + "; scale the frames down first");
            }
            hp = Math.max(hp, m.shape[0]);
            wp = Math.max(wp, m.shape[1]);
        }
        return new int[] {hp, wp};
    }

    /** Source index for padded index i of an axis of length n (numpy.pad, pad width < n or <= n). */
    static int padIndex(int i, int n, int mode) {
        if (i < n) {
            return i;
        }
        switch (mode) {
            case 0:  // reflect: ... n-2, n-1 | n-2, n-3 ...
                return n == 1 ? 0 : 2 * (n - 1) - i;
            case 1:  // symmetric: ... n-2, n-1 | n-1, n-2 ...
                return 2 * n - 1 - i;
            default:  // edge
                return n - 1;
        }
    }

    /**
     * Frames (darkest first, equal sizes) to the network input.
     *
     * @throws IllegalArgumentException wrong number of frames or mismatched sizes
     */
    public Prepared prepare(List<RgbImage> frames) {
        if (frames.size() != m.exposures) {
            throw new IllegalArgumentException("model '" + m.model + "' fuses " + m.exposures + " exposures, got "
                    + frames.size());
        }
        int w = frames.get(0).width, h = frames.get(0).height;
        for (RgbImage f : frames) {
            if (f.width != w || f.height != h) {
                throw new IllegalArgumentException("brackets differ in size: " + w + "x" + h + " vs " + f.width + "x"
                        + f.height);
            }
        }
        int[] padded = paddedSize(h, w);
        int hp = padded[0], wp = padded[1];
        int n = w * h;
        boolean lab = "lab-l".equals(m.colourSpace);
        float[][] labs = new float[lab ? frames.size() : 0][];
        int planes = frames.size() * m.channelsPerFrame();
        float[][] src = new float[planes][];
        for (int f = 0; f < frames.size(); f++) {
            float[] rgb = frames.get(f).data;
            if (lab) {
                labs[f] = ColorSpace.rgbToLab(rgb);
                float[] l = new float[n];
                for (int p = 0; p < n; p++) {
                    l[p] = labs[f][3 * p] / ColorSpace.L_SCALE;
                }
                src[f] = l;
            } else {
                for (int c = 0; c < 3; c++) {
                    float[] plane = new float[n];
                    for (int p = 0; p < n; p++) {
                        plane[p] = rgb[3 * p + c];
                    }
                    src[3 * f + c] = plane;
                }
            }
        }
        float lo = m.inputRange[0], hi = m.inputRange[1];
        boolean identity = lo == 0f && hi == 1f;
        int mode = (hp - h < h && wp - w < w) ? 0 : (hp - h <= h && wp - w <= w) ? 1 : 2;
        float[] x = new float[planes * hp * wp];
        int[] colIdx = new int[wp];
        for (int c = 0; c < wp; c++) {
            colIdx[c] = padIndex(c, w, mode);
        }
        for (int k = 0; k < planes; k++) {
            float[] s = src[k];
            int base = k * hp * wp;
            for (int r = 0; r < hp; r++) {
                int sr = padIndex(r, h, mode) * w;
                int o = base + r * wp;
                for (int c = 0; c < wp; c++) {
                    float v = s[sr + colIdx[c]];
                    x[o + c] = identity ? v : v * (hi - lo) + lo;
                }
            }
        }
        return new Prepared(new Tensor(x, new long[] {1, planes, hp, wp}), w, h, wp, hp, labs);
    }

    /**
     * Network output (1, C, >= H, >= W) to the fused image.
     *
     * @throws IllegalArgumentException the output has the wrong shape
     */
    public RgbImage finish(Tensor y, Prepared p) {
        int want = m.channelsPerFrame();
        long[] s = y.shape;
        if (s.length != 4 || s[0] != 1 || s[1] != want || s[2] < p.height || s[3] < p.width) {
            throw new IllegalArgumentException("network output has shape " + java.util.Arrays.toString(s)
                    + ", expected (1, " + want + ", >= " + p.height + ", >= " + p.width + ")");
        }
        int yh = (int) s[2], yw = (int) s[3];
        int n = p.width * p.height;
        float lo = m.inputRange[0], hi = m.inputRange[1];
        boolean identity = lo == 0f && hi == 1f;
        float[][] planes = new float[want][n];
        for (int c = 0; c < want; c++) {
            for (int r = 0; r < p.height; r++) {
                int src = (c * yh + r) * yw;
                for (int col = 0; col < p.width; col++) {
                    float v = y.data[src + col];
                    planes[c][r * p.width + col] = identity ? v : (v - lo) / (hi - lo);
                }
            }
        }
        if (want == 1) {
            float[] ab = ChromaMerge.merge(p.labs, m.chroma, n);
            return new RgbImage(p.width, p.height, ColorSpace.compose(planes[0], ab, n));
        }
        float[] rgb = new float[n * 3];
        for (int q = 0; q < n; q++) {
            for (int c = 0; c < 3; c++) {
                rgb[3 * q + c] = Math.min(Math.max(planes[c][q], 0f), 1f);
            }
        }
        return new RgbImage(p.width, p.height, rgb);
    }

    /** prepare, run, finish, with timings. */
    public Result fuse(FusionNetwork network, List<RgbImage> frames) throws Exception {
        long t0 = System.nanoTime();
        Prepared p = prepare(frames);
        long t1 = System.nanoTime();
        Tensor y = network.run(p.input);
        long t2 = System.nanoTime();
        RgbImage out = finish(y, p);
        long t3 = System.nanoTime();
        return new Result(out, (t1 - t0) / 1e6, (t2 - t1) / 1e6, (t3 - t2) / 1e6);
    }
}
