package android.media;
import android.os.Handler;
import android.view.Surface;
public class ImageReader implements AutoCloseable {
    public interface OnImageAvailableListener {
        void onImageAvailable(ImageReader reader);
    }
    public static ImageReader newInstance(int width, int height, int format, int maxImages) { throw new RuntimeException("stub"); }
    public void setOnImageAvailableListener(OnImageAvailableListener listener, Handler handler) { throw new RuntimeException("stub"); }
    public Image acquireNextImage() { throw new RuntimeException("stub"); }
    public Surface getSurface() { throw new RuntimeException("stub"); }
    public void close() { throw new RuntimeException("stub"); }
}
