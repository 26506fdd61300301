package android.util;
public final class Range<T extends Comparable<? super T>> {
    public T getLower() { throw new RuntimeException("stub"); }
    public T getUpper() { throw new RuntimeException("stub"); }
}
