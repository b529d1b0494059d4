// The Kotlin binding as a Gradle module. Gradle itself cannot be fetched on
// the CI machine, so `make kotlin-test` compiles src/ with kotlinc against
// the same two libraries declared here (Debian's JNA, the compiler's
// kotlinx-coroutines) and runs src/test's main().
//
// Android: put the cargo-ndk outputs (libtrove.so per ABI) under
// src/main/jniLibs/<abi>/ and depend on "net.java.dev.jna:jna:5.13.0@aar".
plugins {
    kotlin("jvm") version "2.4.20"
    `java-library`
}

group = "dev.trove"
version = "0.1.0"

repositories {
    mavenCentral()
}

dependencies {
    implementation("net.java.dev.jna:jna:5.13.0")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-core:1.10.2")
}

kotlin {
    jvmToolchain(17)
}

// The tests are a plain main() (see src/test/kotlin/dev/trove/TroveTest.kt).
tasks.register<JavaExec>("troveTest") {
    classpath = sourceSets["test"].runtimeClasspath
    mainClass.set("dev.trove.TroveTestKt")
    systemProperty("jna.library.path", System.getenv("TROVE_LIB_DIR") ?: "")
}
