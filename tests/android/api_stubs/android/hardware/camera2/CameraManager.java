package android.hardware.camera2;
import android.os.Handler;
public final class CameraManager {
    public String[] getCameraIdList() throws CameraAccessException { throw new RuntimeException("stub"); }
    public CameraCharacteristics getCameraCharacteristics(String cameraId) throws CameraAccessException { throw new RuntimeException("stub"); }
    public void openCamera(String cameraId, CameraDevice.StateCallback callback, Handler handler)
            throws CameraAccessException { throw new RuntimeException("stub"); }
}
