package android.hardware.camera2;
import android.os.Handler;
import java.util.List;
public abstract class CameraCaptureSession implements AutoCloseable {
    public abstract int setRepeatingRequest(CaptureRequest request, CaptureCallback listener, Handler handler)
            throws CameraAccessException;
    public abstract int setRepeatingBurst(List<CaptureRequest> requests, CaptureCallback listener, Handler handler)
            throws CameraAccessException;
    public abstract void close();
    public abstract static class StateCallback {
        public abstract void onConfigured(CameraCaptureSession session);
        public abstract void onConfigureFailed(CameraCaptureSession session);
    }
    public abstract static class CaptureCallback {
        public void onCaptureCompleted(CameraCaptureSession session, CaptureRequest request,
                                       TotalCaptureResult result) { }
    }
}
