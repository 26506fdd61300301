package android.hardware.camera2;
public class CameraAccessException extends android.util.AndroidException {
    private static final long serialVersionUID = 1L;
    public CameraAccessException(int problem) { throw new RuntimeException("stub"); }
}
