fn main() {
    pyinstaller_build::build();
}
