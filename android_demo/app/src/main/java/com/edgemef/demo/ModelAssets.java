package com.edgemef.demo;

import android.content.res.AssetManager;
import com.edgemef.core.FusionManifest;
import com.edgemef.core.ManifestException;
import com.edgemef.core.ManifestParser;
import java.io.ByteArrayOutputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/**
 * The exported model in the APK's assets, as {@code edgemef export --target ort-mobile
 * --android-assets app/src/main/assets} writes it: {@value #MODEL} and its manifest {@value #MANIFEST}.
 */
final class ModelAssets {
    static final String MODEL = "edgemef.ort";
    static final String MANIFEST = MODEL + ".json";

    final byte[] model;
    final FusionManifest manifest;

    private ModelAssets(byte[] model, FusionManifest manifest) {
        this.model = model;
        this.manifest = manifest;
    }

    /** @throws ManifestException no model in the assets, or a manifest this app cannot use */
    static ModelAssets load(AssetManager assets) throws IOException, ManifestException {
        byte[] json;
        byte[] model;
        try {
            json = read(assets, MANIFEST);
            model = read(assets, MODEL);
        } catch (FileNotFoundException e) {
            throw new ManifestException("no model in the app: run `edgemef export --model densefuse --target "
                    + "ort-mobile --android-assets android_demo/app/src/main/assets` and rebuild");
        }
        return new ModelAssets(model, ManifestParser.parse(new String(json, StandardCharsets.UTF_8)));
    }

    private static byte[] read(AssetManager assets, String name) throws IOException {
        try (InputStream in = assets.open(name)) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) {
                out.write(buf, 0, n);
            }
            return out.toByteArray();
        }
    }
}
