//! The `scf` binary: a thin shell over [`scf::cli`].

fn main() -> std::process::ExitCode {
    scf::cli::main()
}
