package android.hardware.camera2;
public class CaptureResult extends CameraMetadata<CaptureResult.Key<?>> {
    public static final class Key<T> { }
    public static final Key<Integer> CONTROL_AE_STATE = null;
    public static final Key<Long> SENSOR_EXPOSURE_TIME = null;
    public static final Key<Integer> SENSOR_SENSITIVITY = null;
    public static final Key<Long> SENSOR_TIMESTAMP = null;
    public <T> T get(Key<T> key) { throw new RuntimeException("stub"); }
}
