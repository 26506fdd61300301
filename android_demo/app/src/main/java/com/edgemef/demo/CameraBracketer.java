package com.edgemef.demo;

import android.Manifest;
import android.content.Context;
import android.content.pm.PackageManager;
import android.graphics.ImageFormat;
import android.hardware.camera2.CameraAccessException;
import android.hardware.camera2.CameraCaptureSession;
import android.hardware.camera2.CameraCharacteristics;
import android.hardware.camera2.CameraDevice;
import android.hardware.camera2.CameraManager;
import android.hardware.camera2.CameraMetadata;
import android.hardware.camera2.CaptureRequest;
import android.hardware.camera2.CaptureResult;
import android.hardware.camera2.TotalCaptureResult;
import android.hardware.camera2.params.StreamConfigurationMap;
import android.media.Image;
import android.media.ImageReader;
import android.os.Handler;
import android.os.HandlerThread;
import android.util.Log;
import android.util.Range;
import android.util.Size;
import com.edgemef.core.BracketScheduler;
import com.edgemef.core.FramePairer;
import com.edgemef.core.RgbImage;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Camera2 exposure bracketing: meters the scene with auto-exposure, then repeats a burst of two
 * manual-exposure requests (short, long; fixed ISO) into a {@code YUV_420_888} ImageReader. Each
 * frame is identified by the exposure its {@link TotalCaptureResult} reports, joined to its image by
 * the sensor timestamp ({@link FramePairer}); every adjacent short/long pair goes to the listener
 * (on the camera thread).
 */
final class CameraBracketer {
    interface Listener {
        void onStatus(String text);

        void onPair(FramePairer.Pair<RgbImage> pair, BracketScheduler.Plan plan);

        /** A problem that stops the camera (no manual sensor, camera error, ...). */
        void onError(String message);
    }

    private static final String TAG = "edgemef";
    static final double EV_GAP = 4.0;
    /** Longest exposure used, so hand-held pairs stay sharp and close in time (1/10 s). */
    static final long MAX_EXPOSURE_NS = 100_000_000L;
    /** Auto-exposure frames to wait at most for convergence before bracketing anyway. */
    static final int METER_FRAMES = 45;
    /** Fusion size: the YUV size nearest this many pixels (640x480), at most 1280 wide. */
    static final int TARGET_PIXELS = 640 * 480;
    /** A reported exposure within 10 % of the plan's identifies the frame. */
    static final double EXPOSURE_TOLERANCE = 0.10;

    private final Context context;
    private final Listener listener;
    private HandlerThread thread;
    private Handler handler;
    private CameraDevice device;
    private CameraCaptureSession session;
    private ImageReader reader;
    private CameraCharacteristics characteristics;
    private BracketScheduler scheduler;
    private volatile FramePairer<RgbImage> pairer;
    private volatile BracketScheduler.Plan plan;
    private int meterCount;
    private int sensorOrientation;

    CameraBracketer(Context context, Listener listener) {
        this.context = context.getApplicationContext();
        this.listener = listener;
    }

    /** Why this camera cannot bracket, or null when it reports the manual-sensor capability. */
    static String manualSensorProblem(CameraCharacteristics c) {
        int[] caps = c.get(CameraCharacteristics.REQUEST_AVAILABLE_CAPABILITIES);
        if (caps != null) {
            for (int cap : caps) {
                if (cap == CameraMetadata.REQUEST_AVAILABLE_CAPABILITIES_MANUAL_SENSOR) {
                    return null;
                }
            }
        }
        return "This camera does not report REQUEST_AVAILABLE_CAPABILITIES_MANUAL_SENSOR, so it cannot take "
                + "manual exposures and the app cannot bracket. Fusion needs a phone whose camera supports "
                + "manual sensor control.";
    }

    /** Degrees to turn the sensor's frames for a portrait display. */
    int sensorOrientation() {
        return sensorOrientation;
    }

    /** Opens the back camera (the first with manual sensor control). Needs the CAMERA permission. */
    void start() {
        if (context.checkSelfPermission(Manifest.permission.CAMERA) != PackageManager.PERMISSION_GRANTED) {
            listener.onError("The camera permission was not granted.");
            return;
        }
        thread = new HandlerThread("edgemef-camera");
        thread.start();
        handler = new Handler(thread.getLooper());
        CameraManager manager = context.getSystemService(CameraManager.class);
        try {
            String chosen = null;
            String problem = "No camera found.";
            for (String id : manager.getCameraIdList()) {
                CameraCharacteristics c = manager.getCameraCharacteristics(id);
                Integer facing = c.get(CameraCharacteristics.LENS_FACING);
                if (facing == null || facing != CameraMetadata.LENS_FACING_BACK) {
                    continue;
                }
                problem = manualSensorProblem(c);
                if (problem == null) {
                    chosen = id;
                    characteristics = c;
                    break;
                }
            }
            if (chosen == null) {
                listener.onError(problem);
                return;
            }
            Integer orientation = characteristics.get(CameraCharacteristics.SENSOR_ORIENTATION);
            sensorOrientation = orientation == null ? 90 : orientation;
            Range<Long> exposures = characteristics.get(CameraCharacteristics.SENSOR_INFO_EXPOSURE_TIME_RANGE);
            Range<Integer> isos = characteristics.get(CameraCharacteristics.SENSOR_INFO_SENSITIVITY_RANGE);
            if (exposures == null || isos == null) {
                listener.onError("The camera reports manual sensor control but no exposure or ISO range.");
                return;
            }
            long maxExposure = Math.max(exposures.getLower(), Math.min(exposures.getUpper(), MAX_EXPOSURE_NS));
            scheduler = new BracketScheduler(exposures.getLower(), maxExposure, isos.getLower(), isos.getUpper());
            Size size = chooseSize(characteristics);
            if (size == null) {
                listener.onError("The camera offers no YUV_420_888 output.");
                return;
            }
            reader = ImageReader.newInstance(size.getWidth(), size.getHeight(), ImageFormat.YUV_420_888, 4);
            reader.setOnImageAvailableListener(this::onImage, handler);
            listener.onStatus("opening camera " + chosen + " at " + size);
            manager.openCamera(chosen, deviceCallback, handler);
        } catch (CameraAccessException | SecurityException e) {
            listener.onError("Cannot open the camera: " + e.getMessage());
        }
    }

    private static Size chooseSize(CameraCharacteristics c) {
        StreamConfigurationMap map = c.get(CameraCharacteristics.SCALER_STREAM_CONFIGURATION_MAP);
        Size[] sizes = map == null ? null : map.getOutputSizes(ImageFormat.YUV_420_888);
        if (sizes == null || sizes.length == 0) {
            return null;
        }
        Size best = null;
        for (Size s : sizes) {
            if (s.getWidth() > 1280) {
                continue;
            }
            if (best == null || Math.abs(pixels(s) - TARGET_PIXELS) < Math.abs(pixels(best) - TARGET_PIXELS)) {
                best = s;
            }
        }
        return best != null ? best : sizes[sizes.length - 1];
    }

    private static long pixels(Size s) {
        return (long) s.getWidth() * s.getHeight();
    }

    private final CameraDevice.StateCallback deviceCallback = new CameraDevice.StateCallback() {
        @Override
        public void onOpened(CameraDevice camera) {
            device = camera;
            try {
                createSession();
            } catch (CameraAccessException e) {
                listener.onError("Cannot configure the camera: " + e.getMessage());
            }
        }

        @Override
        public void onDisconnected(CameraDevice camera) {
            camera.close();
            device = null;
            listener.onError("The camera was disconnected (another app may have taken it).");
        }

        @Override
        public void onError(CameraDevice camera, int error) {
            camera.close();
            device = null;
            listener.onError("Camera error " + error + ".");
        }
    };

    @SuppressWarnings("deprecation")  // the List<Surface> form works on every API level from 26 on
    private void createSession() throws CameraAccessException {
        device.createCaptureSession(Arrays.asList(reader.getSurface()), new CameraCaptureSession.StateCallback() {
            @Override
            public void onConfigured(CameraCaptureSession s) {
                session = s;
                meter();
            }

            @Override
            public void onConfigureFailed(CameraCaptureSession s) {
                listener.onError("The camera could not configure a YUV stream.");
            }
        }, handler);
    }

    /** (Re)starts auto-exposure metering; bracketing follows once it converges. */
    void meter() {
        if (handler == null) {
            return;
        }
        handler.post(() -> {
            if (session == null || device == null) {
                return;
            }
            plan = null;
            meterCount = 0;
            try {
                CaptureRequest.Builder b = device.createCaptureRequest(CameraDevice.TEMPLATE_PREVIEW);
                b.addTarget(reader.getSurface());
                b.set(CaptureRequest.CONTROL_MODE, CameraMetadata.CONTROL_MODE_AUTO);
                b.set(CaptureRequest.CONTROL_AE_MODE, CameraMetadata.CONTROL_AE_MODE_ON);
                session.setRepeatingRequest(b.build(), meterCallback, handler);
                listener.onStatus("metering...");
            } catch (CameraAccessException | IllegalStateException e) {
                listener.onError("Cannot start metering: " + e.getMessage());
            }
        });
    }

    private final CameraCaptureSession.CaptureCallback meterCallback = new CameraCaptureSession.CaptureCallback() {
        @Override
        public void onCaptureCompleted(CameraCaptureSession s, CaptureRequest request, TotalCaptureResult result) {
            if (plan != null) {
                return;
            }
            meterCount++;
            Integer state = result.get(CaptureResult.CONTROL_AE_STATE);
            Long exposure = result.get(CaptureResult.SENSOR_EXPOSURE_TIME);
            Integer iso = result.get(CaptureResult.SENSOR_SENSITIVITY);
            boolean converged = state != null && state == CameraMetadata.CONTROL_AE_STATE_CONVERGED;
            if (exposure != null && iso != null && (converged || meterCount >= METER_FRAMES)) {
                startBracket(exposure, iso);
            }
        }
    };

    private void startBracket(long baseExposureNs, int baseIso) {
        BracketScheduler.Plan p = scheduler.plan(baseExposureNs, baseIso, EV_GAP);
        long frame = Math.max(p.longNs, 33_333_333L);
        if (pairer == null) {
            pairer = new FramePairer<>(p.shortNs, p.longNs, EXPOSURE_TOLERANCE, 3 * frame, rgb -> { });
        } else {
            pairer.retarget(p.shortNs, p.longNs);
        }
        List<CaptureRequest> burst = new ArrayList<>();
        try {
            for (long exposure : p.sequence()) {
                CaptureRequest.Builder b = device.createCaptureRequest(CameraDevice.TEMPLATE_PREVIEW);
                b.addTarget(reader.getSurface());
                b.set(CaptureRequest.CONTROL_MODE, CameraMetadata.CONTROL_MODE_AUTO);  // AF and AWB stay automatic
                b.set(CaptureRequest.CONTROL_AE_MODE, CameraMetadata.CONTROL_AE_MODE_OFF);
                b.set(CaptureRequest.SENSOR_EXPOSURE_TIME, exposure);
                b.set(CaptureRequest.SENSOR_SENSITIVITY, p.iso);
                b.set(CaptureRequest.SENSOR_FRAME_DURATION, exposure);  // raised to the stream's minimum
                burst.add(b.build());
            }
            session.setRepeatingBurst(burst, bracketCallback, handler);
            plan = p;
            listener.onStatus("metered " + baseExposureNs / 1e6 + " ms at ISO " + baseIso + " -> " + p);
        } catch (CameraAccessException | IllegalStateException e) {
            listener.onError("Cannot start the exposure bracket: " + e.getMessage());
        }
    }

    private final CameraCaptureSession.CaptureCallback bracketCallback = new CameraCaptureSession.CaptureCallback() {
        @Override
        public void onCaptureCompleted(CameraCaptureSession s, CaptureRequest request, TotalCaptureResult result) {
            FramePairer<RgbImage> fp = pairer;
            Long timestamp = result.get(CaptureResult.SENSOR_TIMESTAMP);
            Long exposure = result.get(CaptureResult.SENSOR_EXPOSURE_TIME);  // what the sensor did, not the request
            if (fp == null || plan == null || timestamp == null || exposure == null) {
                return;
            }
            deliver(fp.onResult(timestamp, exposure));
        }
    };

    private void onImage(ImageReader r) {
        Image image = r.acquireNextImage();
        if (image == null) {
            return;
        }
        try {
            FramePairer<RgbImage> fp = pairer;
            if (plan == null || fp == null) {
                return;  // metering frames: not fused
            }
            deliver(fp.onImage(image.getTimestamp(), YuvImages.toRgb(image)));
        } catch (RuntimeException e) {
            Log.w(TAG, "dropping a frame", e);
        } finally {
            image.close();
        }
    }

    private void deliver(FramePairer.Pair<RgbImage> pair) {
        if (pair != null) {
            listener.onPair(pair, plan);
        }
    }

    /** Pairing counters for the screen. */
    String stats() {
        FramePairer<RgbImage> fp = pairer;
        return fp == null ? "" : fp.stats();
    }

    void stop() {
        if (session != null) {
            session.close();
            session = null;
        }
        if (device != null) {
            device.close();
            device = null;
        }
        if (reader != null) {
            reader.close();
            reader = null;
        }
        if (pairer != null) {
            pairer.clear();
        }
        plan = null;
        if (thread != null) {
            thread.quitSafely();
            thread = null;
            handler = null;
        }
    }
}
