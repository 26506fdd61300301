package com.edgemef.demo;

import android.graphics.Bitmap;
import android.graphics.Matrix;
import android.hardware.DataSpace;
import android.media.Image;
import android.os.Build;
import com.edgemef.core.RgbImage;
import com.edgemef.core.YuvConverter;

/** Camera {@code YUV_420_888} images to the core's RGB, and RGB to display bitmaps. */
final class YuvImages {
    private YuvImages() {
    }

    /**
     * The range the image declares (API 33+: its data space); JFIF full range otherwise, which is
     * what Camera2 YUV outputs use.
     */
    static YuvConverter.Range range(Image image) {
        if (Build.VERSION.SDK_INT >= 33 && DataSpace.getRange(image.getDataSpace()) == DataSpace.RANGE_LIMITED) {
            return YuvConverter.Range.LIMITED;
        }
        return YuvConverter.Range.FULL;
    }

    static RgbImage toRgb(Image image) {
        Image.Plane[] p = image.getPlanes();
        RgbImage out = new RgbImage(image.getWidth(), image.getHeight());
        YuvConverter.toRgb(plane(p[0]), plane(p[1]), plane(p[2]), out.width, out.height, range(image), out.data);
        return out;
    }

    private static YuvConverter.Plane plane(Image.Plane p) {
        return new YuvConverter.Plane(p.getBuffer(), p.getRowStride(), p.getPixelStride());
    }

    /** An RGB image as a bitmap, turned by {@code degrees} (the sensor's orientation). */
    static Bitmap toBitmap(RgbImage image, int degrees) {
        Bitmap b = Bitmap.createBitmap(image.toArgb(), image.width, image.height, Bitmap.Config.ARGB_8888);
        if (degrees % 360 == 0) {
            return b;
        }
        Matrix m = new Matrix();
        m.postRotate(degrees);
        return Bitmap.createBitmap(b, 0, 0, b.getWidth(), b.getHeight(), m, true);
    }
}
