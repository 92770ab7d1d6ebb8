//! Fuzzes the whole front end: any bytes as framework.toml must give a model or
//! diagnostics that render, never a panic. Run with `cargo +nightly fuzz run framework_toml`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match scf::compile::load_text(Path::new("framework.toml"), text.to_string()) {
        Ok(compiled) => {
            let _ = scf::compile::artifacts(&compiled.model);
        }
        Err(invalid) => {
            let _ = invalid.diags.render(&invalid.sources, false);
        }
    }
});
