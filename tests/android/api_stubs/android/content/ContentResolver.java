package android.content;
import android.net.Uri;
import java.io.FileNotFoundException;
import java.io.OutputStream;
public abstract class ContentResolver {
    public final Uri insert(Uri url, ContentValues values) { throw new RuntimeException("stub"); }
    public final OutputStream openOutputStream(Uri uri) throws FileNotFoundException { throw new RuntimeException("stub"); }
    public final int delete(Uri url, String where, String[] selectionArgs) { throw new RuntimeException("stub"); }
    public final int update(Uri uri, ContentValues values, String where, String[] selectionArgs) { throw new RuntimeException("stub"); }
}
