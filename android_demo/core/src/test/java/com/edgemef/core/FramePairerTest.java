package com.edgemef.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;

import java.util.ArrayList;
import java.util.List;
import org.junit.Test;

public class FramePairerTest {
    private static final long MS = 1_000_000L;
    private final List<String> released = new ArrayList<>();
    private final FramePairer<String> pairer = new FramePairer<>(2 * MS, 32 * MS, 0.1, 80 * MS, released::add);

    @Test
    public void framesAreIdentifiedByTheReportedExposureNotTheRequestOrder() {
        // image first, then its metadata; the long frame comes first here
        assertNull(pairer.onImage(1000 * MS, "a"));
        assertNull(pairer.onResult(1000 * MS, 33 * MS));  // 32 ms requested, 33 ms reported: long
        assertNull(pairer.onResult(1040 * MS, 2 * MS + 50_000));  // metadata before the image this time
        FramePairer.Pair<String> p = pairer.onImage(1040 * MS, "b");
        assertNotNull(p);
        assertEquals("b", p.shortFrame.payload);
        assertEquals("a", p.longFrame.payload);
        assertEquals(33 * MS, p.longFrame.exposureNs);
        assertEquals(0, released.size());
        assertEquals(1, pairer.pairCount());
    }

    @Test
    public void anExposureMatchingNeitherPlanIsDropped() {
        pairer.onImage(1 * MS, "auto-exposed");
        assertNull(pairer.onResult(1 * MS, 8 * MS));  // a leftover frame from auto-exposure
        assertEquals(1, pairer.unidentifiedCount());
        assertEquals("auto-exposed", released.get(0));
        assertEquals(-1, pairer.classify(8 * MS));
        assertEquals(0, pairer.classify(2 * MS));
        assertEquals(1, pairer.classify(30 * MS));
    }

    @Test
    public void onlyTheLatestFrameOfAKindIsKept() {
        pairer.onImage(0, "s1");
        pairer.onResult(0, 2 * MS);
        pairer.onImage(33 * MS, "s2");
        assertNull(pairer.onResult(33 * MS, 2 * MS));  // two shorts in a row (a long frame was lost)
        assertEquals("s1", released.get(0));
        pairer.onImage(66 * MS, "l");
        FramePairer.Pair<String> p = pairer.onResult(66 * MS, 32 * MS);
        assertEquals("s2", p.shortFrame.payload);
    }

    @Test
    public void aFrameTooOldToPairIsDroppedAsStale() {
        pairer.onImage(0, "s-old");
        pairer.onResult(0, 2 * MS);
        pairer.onImage(500 * MS, "l-new");
        assertNull(pairer.onResult(500 * MS, 32 * MS));  // 500 ms apart > 80 ms
        assertEquals("s-old", released.get(0));
        pairer.onImage(530 * MS, "s-new");
        FramePairer.Pair<String> p = pairer.onResult(530 * MS, 2 * MS);
        assertEquals("l-new", p.longFrame.payload);
        assertEquals(1, pairer.staleCount());
    }

    @Test
    public void imagesWithoutMetadataAreEvictedAndReleased() {
        for (int i = 0; i < FramePairer.MAX_PENDING + 3; i++) {
            pairer.onImage(i * MS, "img" + i);
        }
        assertEquals(3, released.size());
        assertEquals("img0", released.get(0));
        assertEquals(3, pairer.unmatchedCount());
    }

    @Test
    public void retargetAndClearReleaseEverythingHeld() {
        pairer.onImage(0, "s");
        pairer.onResult(0, 2 * MS);
        pairer.onImage(10 * MS, "waiting");
        pairer.retarget(4 * MS, 16 * MS);
        assertEquals(2, released.size());
        assertEquals(0, pairer.classify(4 * MS));
        pairer.onImage(20 * MS, "x");
        pairer.clear();
        assertEquals(3, released.size());
    }
}
