package com.edgemef.core;

import java.awt.image.BufferedImage;
import java.awt.image.DataBuffer;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.File;
import java.io.IOException;
import javax.imageio.ImageIO;

/**
 * Reads a PNG into an {@link RgbImage} the way {@code edgemef.io.load_image} does: raw samples
 * (no colour management), 8-bit / 255 or 16-bit / 65535, grey replicated, alpha dropped. JVM only
 * (javax.imageio): the app gets its frames from the camera instead.
 */
final class PngFrames {
    private PngFrames() {
    }

    static RgbImage read(File file) throws IOException {
        BufferedImage im = ImageIO.read(file);
        if (im == null) {
            throw new IOException(file + ": not an image javax.imageio can read");
        }
        int w = im.getWidth(), h = im.getHeight();
        float[] out = new float[w * h * 3];
        Raster r = im.getRaster();
        if (im.getColorModel() instanceof IndexColorModel) {
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    int argb = im.getRGB(x, y);
                    int o = 3 * (y * w + x);
                    out[o] = ((argb >> 16) & 0xFF) / 255f;
                    out[o + 1] = ((argb >> 8) & 0xFF) / 255f;
                    out[o + 2] = (argb & 0xFF) / 255f;
                }
            }
            return new RgbImage(w, h, out);
        }
        int bands = r.getNumBands();
        float scale = r.getTransferType() == DataBuffer.TYPE_USHORT ? 65535f : 255f;
        int[] px = new int[bands];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                r.getPixel(x, y, px);
                int o = 3 * (y * w + x);
                for (int c = 0; c < 3; c++) {
                    out[o + c] = px[bands < 3 ? 0 : c] / scale;
                }
            }
        }
        return new RgbImage(w, h, out);
    }
}
