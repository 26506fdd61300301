package android.hardware.camera2;
public final class TotalCaptureResult extends CaptureResult { }
