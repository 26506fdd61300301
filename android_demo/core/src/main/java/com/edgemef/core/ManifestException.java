package com.edgemef.core;

/** The artifact manifest is missing, malformed, or asks for something this app cannot do. */
public class ManifestException extends Exception {
    private static final long serialVersionUID = 1L;

    public ManifestException(String message) {
        super(message);
    }
}
