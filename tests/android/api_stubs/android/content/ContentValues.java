package android.content;
public final class ContentValues {
    public ContentValues() { throw new RuntimeException("stub"); }
    public void put(String key, String value) { throw new RuntimeException("stub"); }
    public void put(String key, Integer value) { throw new RuntimeException("stub"); }
    public void clear() { throw new RuntimeException("stub"); }
}
