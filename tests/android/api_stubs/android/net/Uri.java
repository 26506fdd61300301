package android.net;
public abstract class Uri implements Comparable<Uri> { }
