package android.graphics;
import java.io.OutputStream;
public final class Bitmap {
    public enum Config { ALPHA_8, RGB_565, ARGB_4444, ARGB_8888, RGBA_F16, HARDWARE, RGBA_1010102 }
    public enum CompressFormat { JPEG, PNG, WEBP, WEBP_LOSSY, WEBP_LOSSLESS }
    public static Bitmap createBitmap(int[] colors, int width, int height, Config config) { throw new RuntimeException("stub"); }
    public static Bitmap createBitmap(Bitmap source, int x, int y, int width, int height, Matrix m, boolean filter) { throw new RuntimeException("stub"); }
    public int getWidth() { throw new RuntimeException("stub"); }
    public int getHeight() { throw new RuntimeException("stub"); }
    public boolean compress(CompressFormat format, int quality, OutputStream stream) { throw new RuntimeException("stub"); }
}
