package com.edgemef.core;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.List;
import java.util.Map;
import org.junit.Test;

public class ManifestParserTest {
    static final String GOOD = "{\"calibration\": null, \"chroma\": \"mean\", \"colour_space\": \"lab-l\", "
            + "\"exposures\": 2, \"extra\": {\"opset\": 18}, \"extra_inputs\": [], \"format\": \"ort-mobile\", "
            + "\"input_name\": \"brackets\", \"input_range\": [0.0, 1.0], \"model\": \"densefuse\", "
            + "\"output\": \"ldr\", \"output_name\": \"fused\", \"pad_multiple\": 1, \"precision\": \"fp32\", "
            + "\"schema\": 1, \"shape\": null, \"some_future_key\": {\"x\": [1, 2e3, -0.5, true, \"\\u00e9\"]}}";

    @Test
    public void aManifestAsTheExporterWritesIt() throws ManifestException {
        FusionManifest m = ManifestParser.parse(GOOD);
        assertEquals("densefuse", m.model);
        assertEquals("ort-mobile", m.format);
        assertEquals(2, m.exposures);
        assertEquals("lab-l", m.colourSpace);
        assertEquals("brackets", m.inputName);
        assertEquals("fused", m.outputName);
        assertEquals(1, m.padMultiple);
        assertArrayEquals(new float[] {0f, 1f}, m.inputRange, 0f);
        assertNull(m.shape);
        assertEquals(0, m.extraInputs.length);
        assertEquals(1, m.channelsPerFrame());
        assertTrue(m.toString().contains("densefuse"));
    }

    private static void refused(String json, String message) {
        try {
            ManifestParser.parse(json);
            fail("accepted: " + json);
        } catch (ManifestException e) {
            assertTrue(e.getMessage(), e.getMessage().contains(message));
        }
    }

    @Test
    public void badOrMissingFieldsAreNamed() {
        refused(GOOD.replace("\"model\": \"densefuse\", ", ""), "field 'model' is missing");
        refused(GOOD.replace("\"exposures\": 2", "\"exposures\": 2.5"), "field 'exposures' must be an integer");
        refused(GOOD.replace("\"exposures\": 2", "\"exposures\": \"2\""), "field 'exposures' must be an integer");
        refused(GOOD.replace("\"pad_multiple\": 1", "\"pad_multiple\": 0"), "field 'pad_multiple' must be >= 1");
        refused(GOOD.replace("\"lab-l\"", "\"ycbcr\""), "field 'colour_space' is 'ycbcr'");
        refused(GOOD.replace("\"input_name\": \"brackets\", ", ""), "field 'input_name' is missing");
        refused(GOOD.replace("[0.0, 1.0]", "[1.0, 0.0]"), "field 'input_range' must have lo < hi");
        refused(GOOD.replace("\"shape\": null", "\"shape\": [720]"), "field 'shape' must be null or [H, W]");
        refused(GOOD.replace("\"schema\": 1", "\"schema\": 2"), "schema 2 is newer");
        refused(GOOD.replace("\"chroma\": \"mean\"", "\"chroma\": \"max\""), "field 'chroma' is 'max'");
    }

    @Test
    public void malformedJsonIsAManifestError() {
        refused("", "not valid JSON");
        refused("{\"model\": \"densefuse\",}", "not valid JSON");
        refused(GOOD + "x", "not valid JSON");
        refused("[1, 2]", "must be a JSON object");
    }

    @Test
    public void extraInputsAndFixedShapesAreRead() throws ManifestException {
        FusionManifest m = ManifestParser.parse(GOOD.replace("\"shape\": null", "\"shape\": [720, 1280]")
                .replace("\"extra_inputs\": []", "\"extra_inputs\": [{\"name\": \"exposure_ratios\", \"shape\": [1, 2]}]"));
        assertArrayEquals(new int[] {720, 1280}, m.shape);
        assertArrayEquals(new String[] {"exposure_ratios"}, m.extraInputs);
    }

    @Test
    public void jsonValuesAndEscapes() {
        @SuppressWarnings("unchecked")
        Map<String, Object> o = (Map<String, Object>) Json.parse(" {\"a\": [1, -2.5e-1, true, false, null], "
                + "\"s\": \"q\\\"\\\\\\/\\n\\u0041\"} ");
        List<?> a = (List<?>) o.get("a");
        assertEquals(1.0, (Double) a.get(0), 0);
        assertEquals(-0.25, (Double) a.get(1), 0);
        assertEquals(Boolean.TRUE, a.get(2));
        assertNull(a.get(4));
        assertEquals("q\"\\/\nA", o.get("s"));
        for (String bad : new String[] {"01", "1.", "\"abc", "{\"a\" 1}", "[1 2]", "tru", "\"\\x\""}) {
            try {
                Json.parse(bad);
                fail("accepted " + bad);
            } catch (IllegalArgumentException expected) {
                // ok
            }
        }
    }
}
