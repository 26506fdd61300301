package android.view;
public class View {
    public interface OnClickListener { void onClick(View v); }
    public interface OnLongClickListener { boolean onLongClick(View v); }
    public interface OnApplyWindowInsetsListener { WindowInsets onApplyWindowInsets(View v, WindowInsets insets); }
    public void setOnClickListener(OnClickListener l) { throw new RuntimeException("stub"); }
    public void setOnLongClickListener(OnLongClickListener l) { throw new RuntimeException("stub"); }
    public void setOnApplyWindowInsetsListener(OnApplyWindowInsetsListener listener) { throw new RuntimeException("stub"); }
    public void setPadding(int left, int top, int right, int bottom) { throw new RuntimeException("stub"); }
    public void setBackgroundColor(int color) { throw new RuntimeException("stub"); }
}
