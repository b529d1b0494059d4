//! `uniffi-bindgen generate <libtrove.so> --language swift|kotlin|python`:
//! UniFFI's own generator, pinned to the library's UniFFI version.

fn main() {
    uniffi::uniffi_bindgen_main()
}
