//! Helpers shared by the workspace-level tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The checkout's root folder ([`ner_fixtures::checkout_root`]).
pub fn root() -> PathBuf {
    ner_fixtures::checkout_root()
}

/// The folder of the binaries built with this test (`target/<profile>`).
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    // target/<profile>/deps/<test>-<hash>
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binary lives in target/<profile>/deps")
        .to_path_buf();
    for bin in [
        "ner-convert",
        "ner-vocab",
        "ner-encode",
        "ner-train",
        "ner-predict",
        "ner-score",
        "ner-report",
    ] {
        assert!(
            dir.join(bin).exists(),
            "{} is missing: run the tests with `make test` (cargo test --workspace builds every binary)",
            dir.join(bin).display()
        );
    }
    dir
}

/// Runs `make -C <root> ARGS...` with the test's binaries, never building.
pub fn make(args: &[&str]) -> Output {
    make_with_env(args, &[])
}

/// [`make`] with extra environment variables.
pub fn make_with_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    make_with_bins(&bin_dir(), args, env)
}

/// [`make_with_env`] with the binaries of `bin_dir`.
pub fn make_with_bins(bin_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new("make")
        .envs(env.iter().copied())
        .arg("--no-print-directory")
        .arg("-C")
        .arg(root())
        .args(args)
        .arg(format!("BIN_DIR={}", bin_dir.display()))
        .arg("CARGO_BUILD=0")
        .env_remove("MAKEFLAGS")
        .env_remove("MFLAGS")
        .output()
        .expect("make runs")
}

/// The CoNLL-2003 folder, if this machine has it ([`ner_fixtures::conll2003_dir`]).
pub fn conll2003_dir() -> Option<PathBuf> {
    ner_fixtures::conll2003_dir(&root())
}
