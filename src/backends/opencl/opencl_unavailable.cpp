// The OpenCL backend of a build without OpenCL (no headers or ICD loader found
// at configure time): the same interface, with no devices; opening one says
// what to install.
#include "backends/opencl/opencl_device.h"

#include "core/error.h"

namespace hearth::opencl {

struct Device::State {};  // nothing: no device is ever opened

namespace {
[[noreturn]] void unavailable() {
  throw Error(ErrorCode::kUnsupported,
              "this build of Hearth has no OpenCL: install ocl-icd-opencl-dev and opencl-headers (Debian) and "
              "rebuild");
}
}  // namespace

Buffer& Buffer::operator=(Buffer&& other) noexcept {
  mem_ = other.mem_;
  bytes_ = other.bytes_;
  other.mem_ = nullptr;
  return *this;
}
Buffer::~Buffer() = default;

bool built_with_opencl() { return false; }
std::vector<DeviceInfo> list_devices() { return {}; }

Device::Device(DeviceInfo info, std::unique_ptr<State> state) : info_(std::move(info)), state_(std::move(state)) {}
Device::~Device() = default;
std::unique_ptr<Device> Device::open(int) { unavailable(); }
Buffer Device::alloc(int64_t, const std::string&) { unavailable(); }
void Device::write(const Buffer&, int64_t, const void*, int64_t) { unavailable(); }
void Device::read(const Buffer&, int64_t, void*, int64_t) { unavailable(); }
void Device::copy(Span, Span, int64_t) { unavailable(); }
void Device::finish() { unavailable(); }
int64_t Device::matmul_scratch_bytes(DType, int64_t, int64_t) { return 0; }
void Device::matmul(DType, int64_t, int64_t, int64_t, const Buffer&, Span, Span, const Buffer&, SumOrder) {
  unavailable();
}
void Device::binary(BinaryOp, Span, Span, Span, int64_t) { unavailable(); }
void Device::scale(Span, float, Span, int64_t) { unavailable(); }
void Device::add_bias(Span, const Buffer&, Span, int64_t, int64_t) { unavailable(); }
void Device::rms_norm(Span, const Buffer*, Span, int64_t, int64_t, float) { unavailable(); }
void Device::softmax(Span, int64_t, int64_t) { unavailable(); }
void Device::rope(Span, int64_t, int64_t, int64_t, int64_t, const Buffer&, bool) {
  unavailable();
}

}  // namespace hearth::opencl
