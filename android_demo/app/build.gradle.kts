plugins {
    id("com.android.application")
}

android {
    namespace = "com.edgemef.demo"
    compileSdk = 36

    defaultConfig {
        applicationId = "com.edgemef.demo"
        minSdk = 26
        targetSdk = 36
        versionCode = 1
        versionName = "0.1.0"
    }

    buildTypes {
        release {
            isMinifyEnabled = false
        }
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
}

dependencies {
    implementation(project(":core"))
    // Keep this at least at the onnxruntime version that converted the .ort model (constraints.txt):
    // a runtime older than its converter may not read the file. tests/android checks it.
    implementation("com.microsoft.onnxruntime:onnxruntime-android:1.31.1")
}
