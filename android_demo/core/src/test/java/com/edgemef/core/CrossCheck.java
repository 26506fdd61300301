package com.edgemef.core;

import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;

/**
 * Command-line entry for the Python cross-checks (tests/android/test_android_core.py). Raw files
 * are little-endian float32 with no header.
 *
 * <pre>
 * prepare MANIFEST OUT_X IMG...          frames -> network input (prints its shape)
 * compose MANIFEST Y HP WP OUT_RGB IMG...  network output (1, C, HP, WP) -> fused (H, W, 3) RGB
 * lab IN_RGB OUT_LAB | lab2rgb IN_LAB OUT_RGB | compose-lab IN_L IN_AB OUT_RGB
 * yuv nv21|i420 full|limited W H IN_BYTES OUT_RGB
 * png IMG OUT_RGB                           how the PNG reader loads a file
 * </pre>
 */
public final class CrossCheck {
    private CrossCheck() {
    }

    static float[] readF32(String path) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(new File(path).toPath())).order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[b.remaining() / 4];
        b.asFloatBuffer().get(out);
        return out;
    }

    static void writeF32(String path, float[] data) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(data.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(data);
        Files.write(new File(path).toPath(), b.array());
    }

    private static List<RgbImage> frames(String[] args, int from) throws IOException {
        List<RgbImage> out = new ArrayList<>();
        for (int i = from; i < args.length; i++) {
            out.add(PngFrames.read(new File(args[i])));
        }
        return out;
    }

    private static FusionPipeline pipeline(String manifestPath) throws Exception {
        String text = new String(Files.readAllBytes(new File(manifestPath).toPath()), "UTF-8");
        return new FusionPipeline(ManifestParser.parse(text));
    }

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "prepare": {
                FusionPipeline.Prepared p = pipeline(args[1]).prepare(frames(args, 3));
                writeF32(args[2], p.input.data);
                StringBuilder sb = new StringBuilder("shape");
                for (long d : p.input.shape) {
                    sb.append(' ').append(d);
                }
                System.out.println(sb);
                break;
            }
            case "compose": {
                FusionPipeline pipe = pipeline(args[1]);
                FusionPipeline.Prepared p = pipe.prepare(frames(args, 6));
                float[] y = readF32(args[2]);
                long hp = Long.parseLong(args[3]), wp = Long.parseLong(args[4]);
                long c = y.length / (hp * wp);
                RgbImage out = pipe.finish(new Tensor(y, new long[] {1, c, hp, wp}), p);
                writeF32(args[5], out.data);
                break;
            }
            case "lab": {
                writeF32(args[2], ColorSpace.rgbToLab(readF32(args[1])));
                break;
            }
            case "lab2rgb": {
                float[] lab = readF32(args[1]);
                float[] out = new float[lab.length];
                ColorSpace.labToRgb(lab, out, lab.length / 3);
                writeF32(args[2], out);
                break;
            }
            case "compose-lab": {
                float[] l = readF32(args[1]);
                writeF32(args[3], ColorSpace.compose(l, readF32(args[2]), l.length));
                break;
            }
            case "yuv": {
                int w = Integer.parseInt(args[3]), h = Integer.parseInt(args[4]);
                byte[] data = Files.readAllBytes(new File(args[5]).toPath());
                YuvConverter.Plane[] pl = "nv21".equals(args[1]) ? YuvConverter.nv21Planes(data, w, h)
                        : YuvConverter.i420Planes(data, w, h);
                YuvConverter.Range range = "full".equals(args[2]) ? YuvConverter.Range.FULL : YuvConverter.Range.LIMITED;
                float[] out = new float[w * h * 3];
                YuvConverter.toRgb(pl[0], pl[1], pl[2], w, h, range, out);
                writeF32(args[6], out);
                break;
            }
            case "png": {
                writeF32(args[2], PngFrames.read(new File(args[1])).data);
                break;
            }
            default:
                throw new IllegalArgumentException("unknown command " + args[0]);
        }
    }
}
