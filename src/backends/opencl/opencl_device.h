// The OpenCL backend: one OpenCL device (a GPU with its vendor's driver, or
// PoCL on the CPU) with its context, in-order queue and Hearth's kernels
// (kernels.cl) built for it; buffers in its memory, copies to and from the
// host, and the ops a partitioned graph sends it. No OpenCL type appears here,
// so modules above need no OpenCL headers; a build without OpenCL has the same
// interface, where opening a device says so (opencl_unavailable.cpp).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/sum_order.h"

namespace hearth::opencl {

struct DeviceInfo {
  int index = 0;             // in list_devices(), across every platform
  std::string platform;
  std::string name;
  std::string version;       // the device's OpenCL version string
  bool gpu = false;          // CL_DEVICE_TYPE_GPU
  bool host_unified = false; // CL_DEVICE_HOST_UNIFIED_MEMORY: shares the host's memory
  int compute_units = 0;
  int64_t global_memory = 0;  // bytes
  int64_t max_allocation = 0; // bytes of the largest buffer
  bool fp64 = false;          // cl_khr_fp64: the RMS norm sums in double, as the CPU does
};

// True when this build links OpenCL.
bool built_with_opencl();
// Every OpenCL device of every platform; empty when there is none (or no ICD
// loader, or a build without OpenCL). Never throws.
std::vector<DeviceInfo> list_devices();

// A buffer in a device's memory; move-only, released with it.
class Buffer {
 public:
  Buffer() = default;
  Buffer(void* mem, int64_t bytes) : mem_(mem), bytes_(bytes) {}
  Buffer(Buffer&& other) noexcept : mem_(other.mem_), bytes_(other.bytes_) { other.mem_ = nullptr; }
  Buffer& operator=(Buffer&& other) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer();
  void* handle() const { return mem_; }  // the cl_mem
  int64_t bytes() const { return bytes_; }
  explicit operator bool() const { return mem_ != nullptr; }

 private:
  void* mem_ = nullptr;
  int64_t bytes_ = 0;
};

// Where an op's operand is: a buffer and an offset in f32 elements (activations)
// or bytes (converted activations; see each op).
struct Span {
  const Buffer* buffer = nullptr;
  int64_t offset = 0;
};

enum class BinaryOp { kAdd = 0, kMul = 1, kSwiGlu = 2, kGeGlu = 3 };

class Device {
 public:
  // Opens device `index` of list_devices(), or with index < 0 the first GPU,
  // else the first device. Builds the kernels (the first build on a machine
  // can take seconds: drivers cache it). Throws Error(kUnsupported) when there
  // is no such device or OpenCL is not in this build, naming what to install.
  static std::unique_ptr<Device> open(int index = -1);
  ~Device();
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  const DeviceInfo& info() const { return info_; }

  // Throws Error(kOutOfMemory) naming `what` when the device refuses.
  Buffer alloc(int64_t bytes, const std::string& what);
  // Copies from host memory; returns when the host bytes may change again.
  void write(const Buffer& dst, int64_t dst_offset_bytes, const void* src, int64_t bytes);
  // Copies to host memory; returns when the bytes are there (and everything
  // queued before has run).
  void read(const Buffer& src, int64_t src_offset_bytes, void* dst, int64_t bytes);
  // Copies n floats between two places in device memory (queued); they must not overlap.
  void copy(Span src, Span dst, int64_t n);
  // Waits for everything queued.
  void finish();

  // ---- ops (queued; offsets of f32 operands in elements) ----
  // The weight types the matmul kernels take (known in every build, so that a
  // plan can be made where OpenCL is absent).
  static constexpr DType kMatMulTypes[] = {DType::kF32,  DType::kF16,  DType::kQ4_0,
                                           DType::kQ4_1, DType::kQ5_0, DType::kQ8_0};
  static bool supports_matmul(DType t) {
    for (DType m : kMatMulTypes)
      if (m == t) return true;
    return false;
  }
  // Bytes of scratch a matmul of this shape needs for its converted activations.
  static int64_t matmul_scratch_bytes(DType weight_type, int64_t k, int64_t n_tokens);
  // y[t][r] = dot(w row r, x row t) for n_tokens rows of k floats at x and
  // n_out weight rows in weight_type at the start of w, as the CPU backend's
  // matmul computes it (activations converted per its weight type). The block
  // formats sum in `order` (the CPU's: cpu::matmul_sum_order), which gives the
  // CPU's very floats; kOther sums as SumOrder::kBlocks.
  void matmul(DType weight_type, int64_t k, int64_t n_out, int64_t n_tokens, const Buffer& w, Span x, Span y,
              const Buffer& scratch, SumOrder order = SumOrder::kBlocks);
  void binary(BinaryOp op, Span a, Span b, Span y, int64_t n);
  void scale(Span x, float s, Span y, int64_t n);
  // y[r][i] = x[r][i] + bias[i] for n_rows rows of n.
  void add_bias(Span x, const Buffer& bias, Span y, int64_t n_rows, int64_t n);
  // As cpu::rms_norm; weight may be null (no scaling).
  void rms_norm(Span x, const Buffer* weight, Span y, int64_t n_rows, int64_t n, float eps);
  void softmax(Span x, int64_t n_rows, int64_t n);
  // As cpu::rope, in place, rotating by cos_sin: n_tokens * n_rot floats laid out
  // as cpu::rope_cos_sin writes them.
  void rope(Span x, int64_t n_tokens, int64_t n_heads, int64_t head_dim, int64_t n_rot, const Buffer& cos_sin,
            bool neox);

  struct State;  // the OpenCL objects (opencl_device.cpp)

 private:
  Device(DeviceInfo info, std::unique_ptr<State> state);
  DeviceInfo info_;
  std::unique_ptr<State> state_;
};

}  // namespace hearth::opencl
