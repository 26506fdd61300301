package com.edgemef.core;

import java.util.Arrays;

/**
 * The deploy metadata written beside an exported model ({@code <model>.ort.json}), as far as the
 * app needs it. Mirrors {@code edgemef.manifest.Manifest}; read it with {@link ManifestParser}.
 */
public final class FusionManifest {
    /** Registry name of the network, e.g. "densefuse". */
    public final String model;
    /** Artifact format, e.g. "ort-mobile". */
    public final String format;
    /** "fp32" or "int8". */
    public final String precision;
    /** Number of brackets the network takes (darkest first). */
    public final int exposures;
    /** "lab-l" (one CIELAB L / 100 plane per frame) or "rgb" (R, G, B per frame). */
    public final String colourSpace;
    /** Value range of the network input and output: {lo, hi}. */
    public final float[] inputRange;
    /** Graph input tensor name, (1, exposures * channels, H, W). */
    public final String inputName;
    /** Graph output tensor name, (1, channels, H, W). */
    public final String outputName;
    /** "ldr" (display-ready) or "hdr". */
    public final String output;
    /** How a/b are merged for "lab-l" models: "mean" or "saturation". */
    public final String chroma;
    /** Fixed {H, W} of the graph, or null for dynamic height and width. */
    public final int[] shape;
    /** H and W are padded up to a multiple of this. */
    public final int padMultiple;
    /** Names of further graph inputs (e.g. exposure ratios); empty for DenseFuse. */
    public final String[] extraInputs;

    FusionManifest(String model, String format, String precision, int exposures, String colourSpace,
                   float[] inputRange, String inputName, String outputName, String output, String chroma,
                   int[] shape, int padMultiple, String[] extraInputs) {
        this.model = model;
        this.format = format;
        this.precision = precision;
        this.exposures = exposures;
        this.colourSpace = colourSpace;
        this.inputRange = inputRange;
        this.inputName = inputName;
        this.outputName = outputName;
        this.output = output;
        this.chroma = chroma;
        this.shape = shape;
        this.padMultiple = padMultiple;
        this.extraInputs = extraInputs;
    }

    /** Channels per frame in the network input: 1 for "lab-l", 3 for "rgb". */
    public int channelsPerFrame() {
        return "lab-l".equals(colourSpace) ? 1 : 3;
    }

    @Override
    public String toString() {
        return model + " (" + format + ", " + precision + ", " + exposures + " exposures, " + colourSpace
                + ", pad " + padMultiple + (shape == null ? ", dynamic H/W" : ", fixed " + Arrays.toString(shape))
                + ")";
    }
}
