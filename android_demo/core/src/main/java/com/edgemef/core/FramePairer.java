package com.edgemef.core;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Turns a stream of captured frames into short/long pairs.
 *
 * <p>A camera delivers image buffers and capture metadata separately (Camera2: {@code ImageReader}
 * images and {@code TotalCaptureResult}s), both stamped with the sensor timestamp. The pairer joins
 * them by timestamp, and identifies each frame by the exposure time the metadata <em>reports</em>
 * (not the one requested: the first frames after a request change, or a sensor rounding to its
 * line time, differ): within {@code tolerance} (relative) of the plan's short or long exposure, else
 * the frame is dropped. It keeps only the latest frame of each kind, and emits a pair as soon as the
 * two latest frames are at most {@code maxGapNs} apart; a frame too old to pair with a newer one of
 * the other kind is dropped as stale. Every frame not handed out in a pair is given to
 * {@code release} (close the {@code Image}, recycle the buffer), exactly once.
 *
 * <p>Thread-safe (all methods synchronized); the payload release runs on the calling thread.
 *
 * @param <T> the frame payload (an Image, or RGB pixels already converted)
 */
public final class FramePairer<T> {
    /** A frame identified by its reported exposure. */
    public static final class Frame<T> {
        public final long timestampNs;
        public final long exposureNs;
        public final T payload;

        Frame(long timestampNs, long exposureNs, T payload) {
            this.timestampNs = timestampNs;
            this.exposureNs = exposureNs;
            this.payload = payload;
        }
    }

    /** A short and a long frame captured next to each other. */
    public static final class Pair<T> {
        public final Frame<T> shortFrame;
        public final Frame<T> longFrame;

        Pair(Frame<T> shortFrame, Frame<T> longFrame) {
            this.shortFrame = shortFrame;
            this.longFrame = longFrame;
        }
    }

    /** How many images or results may wait for their other half before the oldest is dropped. */
    public static final int MAX_PENDING = 8;

    private long shortNs;
    private long longNs;
    private final double tolerance;
    private final long maxGapNs;
    private final Consumer<T> release;
    private final Map<Long, T> images = new LinkedHashMap<>();
    private final Map<Long, Long> results = new LinkedHashMap<>();
    private Frame<T> latestShort;
    private Frame<T> latestLong;
    private long pairs, unidentified, stale, unmatched;

    /**
     * @param shortNs the plan's short exposure
     * @param longNs the plan's long exposure
     * @param tolerance relative tolerance on the reported exposure (e.g. 0.1 = 10 %)
     * @param maxGapNs most time between the two frames of a pair (e.g. 2.5 frame durations)
     * @param release called with every payload that is not handed out in a pair
     */
    public FramePairer(long shortNs, long longNs, double tolerance, long maxGapNs, Consumer<T> release) {
        if (!(tolerance > 0) || tolerance >= 1 || maxGapNs <= 0) {
            throw new IllegalArgumentException("bad tolerance " + tolerance + " or max gap " + maxGapNs);
        }
        this.tolerance = tolerance;
        this.maxGapNs = maxGapNs;
        this.release = release;
        retarget(shortNs, longNs);
    }

    /** New plan: forget (and release) every waiting frame. */
    public synchronized void retarget(long shortNs, long longNs) {
        if (shortNs <= 0 || longNs < shortNs) {
            throw new IllegalArgumentException("bad exposures " + shortNs + ", " + longNs);
        }
        this.shortNs = shortNs;
        this.longNs = longNs;
        clear();
    }

    /** Release everything held (call when the camera stops). */
    public synchronized void clear() {
        for (T t : images.values()) {
            release.accept(t);
        }
        images.clear();
        results.clear();
        latestShort = drop(latestShort);
        latestLong = drop(latestLong);
    }

    private Frame<T> drop(Frame<T> f) {
        if (f != null) {
            release.accept(f.payload);
        }
        return null;
    }

    /** An image buffer arrived. Returns a completed pair, or null. */
    public synchronized Pair<T> onImage(long timestampNs, T payload) {
        Long exposure = results.remove(timestampNs);
        if (exposure == null) {
            T old = images.put(timestampNs, payload);
            if (old != null) {
                release.accept(old);
            }
            trim(images, true);
            return null;
        }
        return identified(timestampNs, exposure, payload);
    }

    /** Capture metadata arrived: the frame's sensor timestamp and its reported exposure time. */
    public synchronized Pair<T> onResult(long timestampNs, long exposureNs) {
        T payload = images.remove(timestampNs);
        if (payload == null) {
            results.put(timestampNs, exposureNs);
            trim(results, false);
            return null;
        }
        return identified(timestampNs, exposureNs, payload);
    }

    private <V> void trim(Map<Long, V> map, boolean payloads) {
        Iterator<Map.Entry<Long, V>> it = map.entrySet().iterator();
        while (map.size() > MAX_PENDING && it.hasNext()) {
            Map.Entry<Long, V> e = it.next();
            if (payloads) {
                @SuppressWarnings("unchecked")
                T t = (T) e.getValue();
                release.accept(t);
            }
            it.remove();
            unmatched++;
        }
    }

    /** SHORT (0), LONG (1) or unknown (-1) for a reported exposure time. */
    public synchronized int classify(long exposureNs) {
        double ds = Math.abs(Math.log((double) exposureNs / shortNs));
        double dl = Math.abs(Math.log((double) exposureNs / longNs));
        double lim = Math.log(1 + tolerance);
        if (ds <= lim && ds <= dl) {
            return 0;
        }
        if (dl <= lim) {
            return 1;
        }
        return -1;
    }

    private Pair<T> identified(long ts, long exposureNs, T payload) {
        int kind = exposureNs > 0 ? classify(exposureNs) : -1;
        if (kind < 0) {
            unidentified++;
            release.accept(payload);
            return null;
        }
        Frame<T> f = new Frame<>(ts, exposureNs, payload);
        Frame<T> same = kind == 0 ? latestShort : latestLong;
        if (same != null && same.timestampNs > ts) {  // out of order: keep the newer one
            stale++;
            release.accept(payload);
            return null;
        }
        if (same != null) {
            stale++;
            release.accept(same.payload);
        }
        if (kind == 0) {
            latestShort = f;
        } else {
            latestLong = f;
        }
        Frame<T> other = kind == 0 ? latestLong : latestShort;
        if (other == null) {
            return null;
        }
        if (Math.abs(other.timestampNs - ts) > maxGapNs) {
            if (other.timestampNs < ts) {  // the other is too old to pair with anything newer
                stale++;
                release.accept(other.payload);
                if (kind == 0) {
                    latestLong = null;
                } else {
                    latestShort = null;
                }
            }
            return null;
        }
        Pair<T> p = new Pair<>(latestShort, latestLong);
        latestShort = null;
        latestLong = null;
        pairs++;
        return p;
    }

    /** Counters for the UI: pairs emitted, frames dropped as unidentified / stale / unmatched. */
    public synchronized String stats() {
        return "pairs " + pairs + ", dropped: " + unidentified + " unidentified, " + stale + " stale, "
                + unmatched + " unmatched";
    }

    public synchronized long pairCount() {
        return pairs;
    }

    public synchronized long unidentifiedCount() {
        return unidentified;
    }

    public synchronized long staleCount() {
        return stale;
    }

    public synchronized long unmatchedCount() {
        return unmatched;
    }
}
