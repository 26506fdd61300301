// The platform-independent core (no android.* imports): `./gradlew :core:test` runs its JUnit tests
// on the build machine's JVM. The app depends on it; tests/android/ in the Python project compiles
// the same sources with javac and cross-checks them against edgemef's Python runtime.
plugins {
    `java-library`
}

java {
    sourceCompatibility = JavaVersion.VERSION_11
    targetCompatibility = JavaVersion.VERSION_11
}

dependencies {
    testImplementation("junit:junit:4.13.2")
}
