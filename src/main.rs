//! Entry point of the wasm app: it only mounts. Everything else is in the
//! library, so that browser tests can mount the same components.

fn main() {
    fieldbook::start();
}
