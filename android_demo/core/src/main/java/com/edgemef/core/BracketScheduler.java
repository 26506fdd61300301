package com.edgemef.core;

/**
 * Plans the alternating short/long exposures of a two-frame bracket from a metered base exposure.
 *
 * <p>The pair is centred on the base exposure in EV: short = base * 2^(-gap/2), long = base *
 * 2^(+gap/2), so the pair keeps the metered brightness on average. When that does not fit the
 * sensor's exposure range (or the caller's cap on the long exposure, e.g. to keep the frame rate
 * or limit hand shake), the pair slides inside the range keeping the full gap, and the sensitivity
 * (ISO) compensates the slide as far as the sensitivity range allows; when even the range is
 * narrower than the gap, both ends are clamped and {@link Plan#evGap} reports the gap obtained.
 * The sensitivity is then fixed for both frames.
 */
public final class BracketScheduler {
    private final long minExposureNs;
    private final long maxExposureNs;
    private final int minIso;
    private final int maxIso;

    /** One bracket: what both frames of a pair are captured with. */
    public static final class Plan {
        public final long shortNs;
        public final long longNs;
        public final int iso;
        /** log2(long / short): the EV gap actually obtained. */
        public final double evGap;

        Plan(long shortNs, long longNs, int iso) {
            this.shortNs = shortNs;
            this.longNs = longNs;
            this.iso = iso;
            this.evGap = Math.log((double) longNs / shortNs) / Math.log(2);
        }

        /** Exposure of the i-th frame of the repeating burst: even = short, odd = long. */
        public long exposureFor(int frameIndex) {
            return (frameIndex & 1) == 0 ? shortNs : longNs;
        }

        /** The repeating burst, in capture order. */
        public long[] sequence() {
            return new long[] {shortNs, longNs};
        }

        @Override
        public String toString() {
            return String.format(java.util.Locale.ROOT, "short %.3f ms, long %.3f ms (%.2f EV), ISO %d",
                    shortNs / 1e6, longNs / 1e6, evGap, iso);
        }
    }

    /**
     * @param minExposureNs shortest exposure the sensor takes (SENSOR_INFO_EXPOSURE_TIME_RANGE lower)
     * @param maxExposureNs longest exposure to use: the sensor's upper bound or a lower cap
     * @param minIso lowest sensitivity (SENSOR_INFO_SENSITIVITY_RANGE lower)
     * @param maxIso highest sensitivity
     */
    public BracketScheduler(long minExposureNs, long maxExposureNs, int minIso, int maxIso) {
        if (minExposureNs <= 0 || maxExposureNs < minExposureNs) {
            throw new IllegalArgumentException("bad exposure range " + minExposureNs + ".." + maxExposureNs + " ns");
        }
        if (minIso <= 0 || maxIso < minIso) {
            throw new IllegalArgumentException("bad sensitivity range " + minIso + ".." + maxIso);
        }
        this.minExposureNs = minExposureNs;
        this.maxExposureNs = maxExposureNs;
        this.minIso = minIso;
        this.maxIso = maxIso;
    }

    /**
     * @param baseExposureNs the metered exposure (e.g. what auto-exposure settled on)
     * @param baseIso the metered sensitivity
     * @param evGap stops between the short and the long frame (> 0)
     */
    public Plan plan(long baseExposureNs, int baseIso, double evGap) {
        if (baseExposureNs <= 0 || baseIso <= 0 || !(evGap > 0) || evGap > 16) {
            throw new IllegalArgumentException("bad base exposure " + baseExposureNs + " ns, ISO " + baseIso
                    + " or EV gap " + evGap);
        }
        double ratio = Math.pow(2, evGap);
        double centre = baseExposureNs;
        double s = centre / Math.sqrt(ratio);
        double l = centre * Math.sqrt(ratio);
        if (l > maxExposureNs) {
            l = maxExposureNs;
            s = l / ratio;
        }
        if (s < minExposureNs) {
            s = minExposureNs;
            l = Math.min(maxExposureNs, s * ratio);
        }
        // ISO makes up for the slide of the pair's geometric centre
        double slide = centre / Math.sqrt(s * l);
        long iso = Math.round(baseIso * slide);
        iso = Math.max(minIso, Math.min(maxIso, iso));
        long sn = Math.max(minExposureNs, Math.min(maxExposureNs, Math.round(s)));
        long ln = Math.max(sn, Math.min(maxExposureNs, Math.round(l)));
        return new Plan(sn, ln, (int) iso);
    }
}
