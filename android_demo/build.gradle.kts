// Top-level build file: plugin versions only; see app/ and core/.
plugins {
    id("com.android.application") version "9.0.0" apply false
}
