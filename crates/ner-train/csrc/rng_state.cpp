// Reads and restores the state of libtorch's default CPU generator (what
// torch.get_rng_state / torch.set_rng_state do), which the tch crate does not
// expose. Resumable checkpoints store it so dropout after a resume draws the
// same numbers as an uninterrupted run.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>

#include <cstdint>
#include <cstring>
#include <mutex>

extern "C" {

// The state's size in bytes; copies it to `out` when `cap` is large enough.
// -1 on failure.
int64_t ner_cpu_rng_state(uint8_t* out, int64_t cap) {
  try {
    at::Generator gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    at::Tensor state = gen.get_state();
    int64_t n = state.numel();
    if (out != nullptr && cap >= n) {
      std::memcpy(out, state.data_ptr(), static_cast<size_t>(n));
    }
    return n;
  } catch (...) {
    return -1;
  }
}

// Restores a state read by ner_cpu_rng_state. 0 on success, -1 on failure
// (a state of the wrong size or from another libtorch).
int32_t ner_set_cpu_rng_state(const uint8_t* data, int64_t n) {
  try {
    at::Generator gen = at::detail::getDefaultCPUGenerator();
    at::Tensor state = at::empty({n}, at::TensorOptions().dtype(at::kByte));
    std::memcpy(state.data_ptr(), data, static_cast<size_t>(n));
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(state);
    return 0;
  } catch (...) {
    return -1;
  }
}
}
