package android.content;
import android.content.res.AssetManager;
public abstract class Context {
    public abstract Context getApplicationContext();
    public abstract int checkSelfPermission(String permission);
    public final <T> T getSystemService(Class<T> serviceClass) { throw new RuntimeException("stub"); }
    public abstract AssetManager getAssets();
    public abstract ContentResolver getContentResolver();
}
