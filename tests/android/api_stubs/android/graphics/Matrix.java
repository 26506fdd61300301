package android.graphics;
public class Matrix {
    public Matrix() { throw new RuntimeException("stub"); }
    public boolean postRotate(float degrees) { throw new RuntimeException("stub"); }
}
