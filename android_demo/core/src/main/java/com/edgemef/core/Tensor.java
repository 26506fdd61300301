package com.edgemef.core;

import java.util.Arrays;

/** A dense float32 tensor, row-major (NCHW for the fusion networks). */
public final class Tensor {
    public final float[] data;
    public final long[] shape;

    public Tensor(float[] data, long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d <= 0) {
                throw new IllegalArgumentException("bad tensor shape " + Arrays.toString(shape));
            }
            n *= d;
        }
        if (n != data.length) {
            throw new IllegalArgumentException("tensor shape " + Arrays.toString(shape) + " needs " + n
                    + " floats, got " + data.length);
        }
        this.data = data;
        this.shape = shape.clone();
    }

    @Override
    public String toString() {
        return "Tensor" + Arrays.toString(shape);
    }
}
