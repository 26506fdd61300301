package android.view;
public final class WindowInsets {
    @Deprecated
    public int getSystemWindowInsetTop() { throw new RuntimeException("stub"); }
    @Deprecated
    public int getSystemWindowInsetBottom() { throw new RuntimeException("stub"); }
}
