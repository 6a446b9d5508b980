//! Records libtorch's folder as the run path of this crate's tests, so they
//! run without LD_LIBRARY_PATH.

fn main() {
    // torch-sys (links = "tch") exports the folder it linked against.
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg-tests=-Wl,-rpath,{lib}");
    }
}
