package android.os;
public class HandlerThread extends Thread {
    public HandlerThread(String name) { throw new RuntimeException("stub"); }
    public Looper getLooper() { throw new RuntimeException("stub"); }
    public boolean quitSafely() { throw new RuntimeException("stub"); }
}
