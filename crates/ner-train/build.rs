//! Records libtorch's folder as the run path of this crate's binaries and
//! tests, so they run without LD_LIBRARY_PATH, and compiles the small C++
//! shim that reads and restores libtorch's CPU random-number state
//! (`csrc/rng_state.cpp`), which the tch crate does not expose.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=csrc/rng_state.cpp");
    println!("cargo:rerun-if-env-changed=LIBTORCH_CXX11_ABI");
    // torch-sys (links = "tch") exports the folder it linked against.
    let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") else {
        panic!("torch-sys did not report libtorch's folder (DEP_TCH_LIBTORCH_LIB)");
    };
    println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
    let include = PathBuf::from(&lib)
        .parent()
        .map(|root| root.join("include"))
        .expect("libtorch's lib folder has a parent");
    // The PyTorch wheels and libtorch's cxx11 builds use the new ABI, as torch-sys assumes.
    let abi = std::env::var("LIBTORCH_CXX11_ABI").unwrap_or_else(|_| "1".to_owned());
    cc::Build::new()
        .cpp(true)
        .file("csrc/rng_state.cpp")
        .include(&include)
        .include(include.join("torch/csrc/api/include"))
        .flag("-std=c++17")
        .flag(format!("-D_GLIBCXX_USE_CXX11_ABI={abi}"))
        .flag("-DGLOG_USE_GLOG_EXPORT")
        .warnings(false)
        .compile("ner_rng_state");
}
