package android.app;
import android.content.ContentResolver;
import android.content.Context;
import android.content.res.AssetManager;
import android.os.Bundle;
import android.view.View;
public class Activity extends Context {
    protected void onCreate(Bundle savedInstanceState) { throw new RuntimeException("stub"); }
    protected void onResume() { throw new RuntimeException("stub"); }
    protected void onPause() { throw new RuntimeException("stub"); }
    protected void onDestroy() { throw new RuntimeException("stub"); }
    public void setContentView(View view) { throw new RuntimeException("stub"); }
    public final void runOnUiThread(Runnable action) { throw new RuntimeException("stub"); }
    public final void requestPermissions(String[] permissions, int requestCode) { throw new RuntimeException("stub"); }
    public void onRequestPermissionsResult(int requestCode, String[] permissions, int[] grantResults) { throw new RuntimeException("stub"); }
    public Context getApplicationContext() { throw new RuntimeException("stub"); }
    public int checkSelfPermission(String permission) { throw new RuntimeException("stub"); }
    public AssetManager getAssets() { throw new RuntimeException("stub"); }
    public ContentResolver getContentResolver() { throw new RuntimeException("stub"); }
}
