package android.hardware;
public final class DataSpace {
    public static final int RANGE_UNSPECIFIED = 0;
    public static final int RANGE_FULL = 1 << 27;
    public static final int RANGE_LIMITED = 2 << 27;
    public static int getRange(int dataSpace) { throw new RuntimeException("stub"); }
}
