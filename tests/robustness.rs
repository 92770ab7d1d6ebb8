//! The front end never panics: every prefix of the example and of each invalid fixture,
//! and a deterministic stream of byte mutations, gives a model or renderable diagnostics.
//! (The coverage-guided fuzzer in `fuzz/` explores further; this runs in every CI.) The
//! commands that print a document exit quietly when their reader has gone (`| head`).

mod support;

use std::path::Path;

fn must_not_panic(text: &str) {
    match scf::compile::load_text(Path::new("framework.toml"), text.to_string()) {
        Ok(compiled) => {
            scf::compile::artifacts(&compiled.model).expect("a valid model always renders");
        }
        Err(invalid) => {
            assert!(invalid.diags.has_errors());
            let shown = invalid.diags.render(&invalid.sources, false);
            assert!(!shown.is_empty());
        }
    }
}

#[test]
fn every_prefix_is_handled() {
    let text =
        std::fs::read_to_string(support::root().join("examples/framework.toml")).expect("example");
    for (i, _) in text.char_indices().step_by(7) {
        must_not_panic(&text[..i]);
    }
}

#[test]
fn mutations_are_handled() {
    let text =
        std::fs::read_to_string(support::root().join("examples/framework.toml")).expect("example");
    let bytes = text.as_bytes();
    let inserts: &[&[u8]] = &[
        b"\"",
        b"[",
        b"]",
        b"=",
        b"\n",
        b"{",
        b"}",
        b"'''",
        b"\\u0000",
        b"-9999999999999999999999",
        b"1e999",
        b"[[x]]\n",
        b"\xc3\xa4",
    ];
    // A fixed linear congruential sequence: deterministic, no dependency.
    let mut state: u64 = 0x5eed;
    for _ in 0..600 {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let at = (state >> 33) as usize % bytes.len();
        let insert = inserts[(state >> 17) as usize % inserts.len()];
        let mut mutated = bytes[..at].to_vec();
        mutated.extend_from_slice(insert);
        mutated.extend_from_slice(&bytes[at..]);
        if let Ok(s) = std::str::from_utf8(&mutated) {
            must_not_panic(s);
        }
    }
}

#[test]
fn printing_commands_exit_quietly_into_a_closed_pipe() {
    for args in [&["completions", "bash"][..], &["schema"], &["man"]] {
        // The reader is gone before scf writes a byte, so its first write fails (EPIPE).
        let (reader, writer) = std::io::pipe().expect("a pipe");
        drop(reader);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_scf"))
            .args(args)
            .stdout(writer)
            .output()
            .expect("scf runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.is_empty(),
            "scf {}: {:?} {stderr}",
            args.join(" "),
            out.status
        );
    }
}
