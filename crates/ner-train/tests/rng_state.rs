//! libtorch's CPU generator state saved and restored through the C++ shim.
//! In a test binary of its own: the generator is global, and any test
//! running beside this one in the same process would draw between the
//! save and the restore.

use ner_train::rng_state::{cpu_rng_state, set_cpu_rng_state};
use tch::{Device, Kind, Tensor};

#[test]
fn restoring_the_state_repeats_the_draws() {
    let state = cpu_rng_state().unwrap();
    assert!(!state.is_empty());
    let a = Tensor::rand([64], (Kind::Float, Device::Cpu));
    let dropped_a = Tensor::ones([64], (Kind::Float, Device::Cpu)).dropout(0.5, true);
    set_cpu_rng_state(&state).unwrap();
    let b = Tensor::rand([64], (Kind::Float, Device::Cpu));
    let dropped_b = Tensor::ones([64], (Kind::Float, Device::Cpu)).dropout(0.5, true);
    assert!(a.equal(&b));
    assert!(dropped_a.equal(&dropped_b));
    assert!(set_cpu_rng_state(&state[..10]).is_err());
}
