package com.edgemef.demo;

import android.Manifest;
import android.app.Activity;
import android.content.pm.PackageManager;
import android.graphics.Bitmap;
import android.graphics.Color;
import android.os.Build;
import android.os.Bundle;
import android.view.View;
import android.view.ViewGroup;
import android.widget.ImageView;
import android.widget.LinearLayout;
import android.widget.TextView;
import android.widget.Toast;
import com.edgemef.core.BracketScheduler;
import com.edgemef.core.FramePairer;
import com.edgemef.core.FusionPipeline;
import com.edgemef.core.RgbImage;
import java.text.SimpleDateFormat;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Date;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Brackets with the back camera, fuses the latest short/long pair with the exported edgemef model
 * and shows the result above the two inputs, with the time each stage took. Tap the result to save
 * it (Pictures/edgemef); long-press it to meter the scene again.
 */
public final class MainActivity extends Activity implements CameraBracketer.Listener {
    private static final int PERMISSIONS = 1;

    private TextView status;
    private TextView timing;
    private ImageView fusedView;
    private ImageView shortView;
    private ImageView longView;
    private CameraBracketer camera;
    private FusionPipeline pipeline;
    private OrtFusionNetwork network;
    private String modelError;
    private final ExecutorService fusion = Executors.newSingleThreadExecutor();
    private final AtomicBoolean busy = new AtomicBoolean();
    private volatile Bitmap lastFused;
    private long skipped;

    @Override
    protected void onCreate(Bundle saved) {
        super.onCreate(saved);
        setContentView(buildLayout());
        fusion.execute(this::loadModel);
    }

    @SuppressWarnings("deprecation")  // system-window insets: the API 20+ form, still served on API 36
    private View buildLayout() {
        LinearLayout root = new LinearLayout(this);
        root.setOrientation(LinearLayout.VERTICAL);
        root.setBackgroundColor(Color.BLACK);
        root.setOnApplyWindowInsetsListener((v, insets) -> {  // edge-to-edge from targetSdk 35 on
            v.setPadding(0, insets.getSystemWindowInsetTop(), 0, insets.getSystemWindowInsetBottom());
            return insets;
        });
        status = text(14);
        root.addView(status, new LinearLayout.LayoutParams(ViewGroup.LayoutParams.MATCH_PARENT,
                ViewGroup.LayoutParams.WRAP_CONTENT));
        fusedView = new ImageView(this);
        fusedView.setScaleType(ImageView.ScaleType.FIT_CENTER);
        fusedView.setOnClickListener(v -> save());
        fusedView.setOnLongClickListener(v -> {
            if (camera != null) {
                camera.meter();
            }
            return true;
        });
        root.addView(fusedView, new LinearLayout.LayoutParams(ViewGroup.LayoutParams.MATCH_PARENT, 0, 2f));
        LinearLayout inputs = new LinearLayout(this);
        inputs.setOrientation(LinearLayout.HORIZONTAL);
        shortView = new ImageView(this);
        longView = new ImageView(this);
        for (ImageView iv : new ImageView[] {shortView, longView}) {
            iv.setScaleType(ImageView.ScaleType.FIT_CENTER);
            inputs.addView(iv, new LinearLayout.LayoutParams(0, ViewGroup.LayoutParams.MATCH_PARENT, 1f));
        }
        root.addView(inputs, new LinearLayout.LayoutParams(ViewGroup.LayoutParams.MATCH_PARENT, 0, 1f));
        timing = text(16);
        root.addView(timing, new LinearLayout.LayoutParams(ViewGroup.LayoutParams.MATCH_PARENT,
                ViewGroup.LayoutParams.WRAP_CONTENT));
        status.setText("loading the model...");
        return root;
    }

    private TextView text(int sp) {
        TextView t = new TextView(this);
        t.setTextColor(Color.WHITE);
        t.setTextSize(sp);
        t.setPadding(16, 8, 16, 8);
        return t;
    }

    /** On the fusion thread: the .ort model and its manifest from the assets. */
    private void loadModel() {
        try {
            ModelAssets assets = ModelAssets.load(getAssets());
            pipeline = new FusionPipeline(assets.manifest);
            int threads = Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors()));
            network = new OrtFusionNetwork(assets.model, assets.manifest, threads);
            runOnUiThread(() -> status.setText("model: " + assets.manifest));
        } catch (Exception e) {
            modelError = e.getMessage();
            runOnUiThread(() -> status.setText("Cannot load the fusion model: " + modelError));
        }
    }

    @Override
    protected void onResume() {
        super.onResume();
        List<String> wanted = new ArrayList<>(Arrays.asList(Manifest.permission.CAMERA));
        if (Build.VERSION.SDK_INT < 29) {
            wanted.add(Manifest.permission.WRITE_EXTERNAL_STORAGE);
        }
        List<String> missing = new ArrayList<>();
        for (String p : wanted) {
            if (checkSelfPermission(p) != PackageManager.PERMISSION_GRANTED) {
                missing.add(p);
            }
        }
        if (missing.isEmpty()) {
            startCamera();
        } else {
            requestPermissions(missing.toArray(new String[0]), PERMISSIONS);
        }
    }

    @Override
    public void onRequestPermissionsResult(int code, String[] permissions, int[] results) {
        super.onRequestPermissionsResult(code, permissions, results);
        if (checkSelfPermission(Manifest.permission.CAMERA) == PackageManager.PERMISSION_GRANTED) {
            startCamera();
        } else {
            status.setText("The app needs the camera permission to bracket exposures.");
        }
    }

    private void startCamera() {
        if (camera == null) {
            camera = new CameraBracketer(this, this);
            camera.start();
        }
    }

    @Override
    protected void onPause() {
        if (camera != null) {
            camera.stop();
            camera = null;
        }
        super.onPause();
    }

    @Override
    protected void onDestroy() {
        fusion.execute(() -> {
            if (network != null) {
                network.close();
            }
        });
        fusion.shutdown();
        super.onDestroy();
    }

    @Override
    public void onStatus(String text) {
        runOnUiThread(() -> status.setText(modelError != null ? "Cannot load the fusion model: " + modelError : text));
    }

    @Override
    public void onError(String message) {
        runOnUiThread(() -> {
            status.setText(message);
            Toast.makeText(this, message, Toast.LENGTH_LONG).show();
        });
    }

    /** On the camera thread: fuse this pair unless the previous one is still running. */
    @Override
    public void onPair(FramePairer.Pair<RgbImage> pair, BracketScheduler.Plan plan) {
        if (pipeline == null || network == null || !busy.compareAndSet(false, true)) {
            skipped++;
            return;
        }
        int degrees = camera != null ? camera.sensorOrientation() : 90;
        fusion.execute(() -> {
            try {
                FusionPipeline.Result r = pipeline.fuse(network,
                        Arrays.asList(pair.shortFrame.payload, pair.longFrame.payload));
                Bitmap fused = YuvImages.toBitmap(r.image, degrees);
                Bitmap shortBmp = YuvImages.toBitmap(pair.shortFrame.payload, degrees);
                Bitmap longBmp = YuvImages.toBitmap(pair.longFrame.payload, degrees);
                String line = String.format(Locale.ROOT,
                        "inference %.0f ms (prepare %.0f, compose %.0f) | %dx%d | short %.2f ms, long %.2f ms | %s, "
                                + "%d skipped while busy | tap to save, long-press to re-meter",
                        r.inferMs, r.prepareMs, r.composeMs, r.image.width, r.image.height,
                        pair.shortFrame.exposureNs / 1e6, pair.longFrame.exposureNs / 1e6,
                        camera != null ? camera.stats() : "", skipped);
                lastFused = fused;
                runOnUiThread(() -> {
                    fusedView.setImageBitmap(fused);
                    shortView.setImageBitmap(shortBmp);
                    longView.setImageBitmap(longBmp);
                    timing.setText(line);
                });
            } catch (Exception e) {
                onError("Fusion failed: " + e.getMessage());
            } finally {
                busy.set(false);
            }
        });
    }

    private void save() {
        Bitmap b = lastFused;
        if (b == null) {
            return;
        }
        String name = "edgemef_" + new SimpleDateFormat("yyyyMMdd_HHmmss", Locale.ROOT).format(new Date()) + ".png";
        fusion.execute(() -> {
            try {
                ImageSaver.savePng(getContentResolver(), b, name);
                runOnUiThread(() -> Toast.makeText(this, "saved Pictures/edgemef/" + name, Toast.LENGTH_SHORT).show());
            } catch (Exception e) {
                onError("Could not save: " + e.getMessage());
            }
        });
    }
}
