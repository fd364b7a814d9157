fn main() {
    // In a Tauri app, `tauri_build::build()` follows and finds the sidecars in `binaries/`.
    let report = pyinstaller_build::build();
    for spec in &report.specs {
        // Tell the app where each sidecar is, so `main` can run it.
        println!("cargo:rustc-env=SIDECAR_{}={}", spec.name.to_uppercase(), spec.installed.display());
    }
}
