package android.hardware.camera2;
import android.hardware.camera2.params.StreamConfigurationMap;
import android.util.Range;
public final class CameraCharacteristics extends CameraMetadata<CameraCharacteristics.Key<?>> {
    public static final class Key<T> { }
    public static final Key<int[]> REQUEST_AVAILABLE_CAPABILITIES = null;
    public static final Key<Integer> LENS_FACING = null;
    public static final Key<Integer> SENSOR_ORIENTATION = null;
    public static final Key<Range<Long>> SENSOR_INFO_EXPOSURE_TIME_RANGE = null;
    public static final Key<Range<Integer>> SENSOR_INFO_SENSITIVITY_RANGE = null;
    public static final Key<StreamConfigurationMap> SCALER_STREAM_CONFIGURATION_MAP = null;
    public <T> T get(Key<T> key) { throw new RuntimeException("stub"); }
}
