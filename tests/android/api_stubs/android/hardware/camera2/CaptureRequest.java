package android.hardware.camera2;
import android.view.Surface;
public final class CaptureRequest extends CameraMetadata<CaptureRequest.Key<?>> {
    public static final class Key<T> { }
    public static final Key<Integer> CONTROL_MODE = null;
    public static final Key<Integer> CONTROL_AE_MODE = null;
    public static final Key<Long> SENSOR_EXPOSURE_TIME = null;
    public static final Key<Integer> SENSOR_SENSITIVITY = null;
    public static final Key<Long> SENSOR_FRAME_DURATION = null;
    public static final class Builder {
        public void addTarget(Surface outputTarget) { throw new RuntimeException("stub"); }
        public <T> void set(Key<T> key, T value) { throw new RuntimeException("stub"); }
        public CaptureRequest build() { throw new RuntimeException("stub"); }
    }
}
