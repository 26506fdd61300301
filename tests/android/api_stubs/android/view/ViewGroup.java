package android.view;
public abstract class ViewGroup extends View {
    public static class LayoutParams {
        public static final int MATCH_PARENT = -1;
        public static final int WRAP_CONTENT = -2;
        public LayoutParams(int width, int height) { throw new RuntimeException("stub"); }
    }
    public static class MarginLayoutParams extends LayoutParams {
        public MarginLayoutParams(int width, int height) { super(width, height); }
    }
    public void addView(View child, LayoutParams params) { throw new RuntimeException("stub"); }
}
