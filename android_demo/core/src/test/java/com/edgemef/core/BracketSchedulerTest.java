package com.edgemef.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import org.junit.Test;

public class BracketSchedulerTest {
    private static final long MS = 1_000_000L;
    // a typical phone sensor: 10 us .. 500 ms, ISO 50 .. 3200; long capped at 66 ms for the frame rate
    private final BracketScheduler sched = new BracketScheduler(10_000L, 66 * MS, 50, 3200);

    @Test
    public void thePairIsCentredOnTheBaseExposure() {
        BracketScheduler.Plan p = sched.plan(8 * MS, 100, 4.0);
        assertEquals(2 * MS, p.shortNs);
        assertEquals(32 * MS, p.longNs);
        assertEquals(100, p.iso);
        assertEquals(4.0, p.evGap, 1e-9);
        assertEquals(p.shortNs, p.exposureFor(0));
        assertEquals(p.longNs, p.exposureFor(1));
        assertEquals(p.shortNs, p.exposureFor(2));
    }

    @Test
    public void aDarkSceneSlidesUnderTheCapAndRaisesIso() {
        BracketScheduler.Plan p = sched.plan(40 * MS, 200, 4.0);  // long would be 160 ms
        assertEquals(66 * MS, p.longNs);
        assertEquals(66 * MS / 16, p.shortNs, 1);
        assertEquals(4.0, p.evGap, 1e-6);
        // centre moved from 40 ms to sqrt(66 * 4.125) = 16.5 ms: ISO x 2.42
        assertEquals(Math.round(200 * 40.0 / 16.5), p.iso, 1);
    }

    @Test
    public void aBrightSceneSlidesAboveTheMinimumAndIsoStaysInRange() {
        BracketScheduler.Plan p = sched.plan(15_000L, 50, 4.0);  // short would be 3.75 us
        assertEquals(10_000L, p.shortNs);
        assertEquals(160_000L, p.longNs);
        assertEquals(50, p.iso);  // would need ISO 25: clamped to the sensor's minimum
    }

    @Test
    public void aRangeNarrowerThanTheGapClampsBothEnds() {
        BracketScheduler narrow = new BracketScheduler(1 * MS, 4 * MS, 100, 100);
        BracketScheduler.Plan p = narrow.plan(2 * MS, 100, 6.0);
        assertEquals(1 * MS, p.shortNs);
        assertEquals(4 * MS, p.longNs);
        assertEquals(2.0, p.evGap, 1e-9);
        assertTrue(p.toString().contains("2.00 EV"));
    }

    @Test(expected = IllegalArgumentException.class)
    public void aNonPositiveGapIsRefused() {
        sched.plan(8 * MS, 100, 0.0);
    }

    @Test(expected = IllegalArgumentException.class)
    public void anInvertedRangeIsRefused() {
        new BracketScheduler(10 * MS, 1 * MS, 100, 200);
    }
}
