package android.hardware.camera2.params;
import android.util.Size;
public final class StreamConfigurationMap {
    public Size[] getOutputSizes(int format) { throw new RuntimeException("stub"); }
}
