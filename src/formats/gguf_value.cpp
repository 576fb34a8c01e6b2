#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>

#include "core/error.h"
#include "formats/gguf.h"

namespace hearth::formats {
namespace {

bool is_unsigned_type(GgufType t) {
  return t == GgufType::kUint8 || t == GgufType::kUint16 || t == GgufType::kUint32 ||
         t == GgufType::kUint64;
}

bool is_signed_type(GgufType t) {
  return t == GgufType::kInt8 || t == GgufType::kInt16 || t == GgufType::kInt32 ||
         t == GgufType::kInt64;
}

uint64_t unsigned_max(GgufType t) {
  switch (t) {
    case GgufType::kUint8: return std::numeric_limits<uint8_t>::max();
    case GgufType::kUint16: return std::numeric_limits<uint16_t>::max();
    case GgufType::kUint32: return std::numeric_limits<uint32_t>::max();
    default: return std::numeric_limits<uint64_t>::max();
  }
}

int64_t signed_min(GgufType t) {
  switch (t) {
    case GgufType::kInt8: return std::numeric_limits<int8_t>::min();
    case GgufType::kInt16: return std::numeric_limits<int16_t>::min();
    case GgufType::kInt32: return std::numeric_limits<int32_t>::min();
    default: return std::numeric_limits<int64_t>::min();
  }
}

int64_t signed_max(GgufType t) {
  switch (t) {
    case GgufType::kInt8: return std::numeric_limits<int8_t>::max();
    case GgufType::kInt16: return std::numeric_limits<int16_t>::max();
    case GgufType::kInt32: return std::numeric_limits<int32_t>::max();
    default: return std::numeric_limits<int64_t>::max();
  }
}

[[noreturn]] void bad_argument(const std::string& message) {
  throw Error(ErrorCode::kInvalidArgument, "GgufValue: " + message);
}

[[noreturn]] void type_mismatch(GgufType have, const char* wanted) {
  throw Error(ErrorCode::kFormat,
              std::string("value is ") + gguf_type_name(have) + ", expected " + wanted);
}

uint64_t double_bits(double d) {
  uint64_t b;
  std::memcpy(&b, &d, sizeof b);
  return b;
}

}  // namespace

const char* gguf_type_name(GgufType type) {
  switch (type) {
    case GgufType::kUint8: return "uint8";
    case GgufType::kInt8: return "int8";
    case GgufType::kUint16: return "uint16";
    case GgufType::kInt16: return "int16";
    case GgufType::kUint32: return "uint32";
    case GgufType::kInt32: return "int32";
    case GgufType::kFloat32: return "float32";
    case GgufType::kBool: return "bool";
    case GgufType::kString: return "string";
    case GgufType::kArray: return "array";
    case GgufType::kUint64: return "uint64";
    case GgufType::kInt64: return "int64";
    case GgufType::kFloat64: return "float64";
  }
  return "invalid";
}

GgufValue GgufValue::make_uint(GgufType type, uint64_t v) {
  GgufValue out;
  out.type_ = type;
  if (is_unsigned_type(type)) {
    if (v > unsigned_max(type))
      bad_argument(std::to_string(v) + " does not fit " + gguf_type_name(type));
    out.u_ = v;
  } else if (is_signed_type(type)) {
    if (v > static_cast<uint64_t>(signed_max(type)))
      bad_argument(std::to_string(v) + " does not fit " + gguf_type_name(type));
    out.i_ = static_cast<int64_t>(v);
  } else {
    bad_argument(std::string("make_uint needs an integer type, got ") + gguf_type_name(type));
  }
  return out;
}

GgufValue GgufValue::make_int(GgufType type, int64_t v) {
  GgufValue out;
  out.type_ = type;
  if (is_signed_type(type)) {
    if (v < signed_min(type) || v > signed_max(type))
      bad_argument(std::to_string(v) + " does not fit " + gguf_type_name(type));
    out.i_ = v;
  } else if (is_unsigned_type(type)) {
    if (v < 0 || static_cast<uint64_t>(v) > unsigned_max(type))
      bad_argument(std::to_string(v) + " does not fit " + gguf_type_name(type));
    out.u_ = static_cast<uint64_t>(v);
  } else {
    bad_argument(std::string("make_int needs an integer type, got ") + gguf_type_name(type));
  }
  return out;
}

GgufValue GgufValue::make_float(GgufType type, double v) {
  GgufValue out;
  out.type_ = type;
  if (type == GgufType::kFloat32) {
    // Keep the value the file will hold, so what is read back compares equal.
    out.f_ = static_cast<double>(static_cast<float>(v));
  } else if (type == GgufType::kFloat64) {
    out.f_ = v;
  } else {
    bad_argument(std::string("make_float needs float32 or float64, got ") + gguf_type_name(type));
  }
  return out;
}

GgufValue GgufValue::make_bool(bool v) {
  GgufValue out;
  out.type_ = GgufType::kBool;
  out.u_ = v ? 1 : 0;
  return out;
}

GgufValue GgufValue::make_string(std::string v) {
  GgufValue out;
  out.type_ = GgufType::kString;
  out.owned_ = std::move(v);
  out.owns_string_ = true;
  return out;
}

GgufValue GgufValue::make_string_view(std::string_view v) {
  GgufValue out;
  out.type_ = GgufType::kString;
  out.view_ = v;
  return out;
}

namespace {

void check_element_type(GgufType elem_type) {
  if (std::string_view(gguf_type_name(elem_type)) == "invalid")
    bad_argument("invalid array element type " + std::to_string(static_cast<uint32_t>(elem_type)));
}

}  // namespace

// Elements decoded now (make_array) or on first use (make_encoded_array).
struct GgufValue::ArrayStore {
  std::vector<GgufValue> elems;
  uint64_t count = 0;
  std::span<const uint8_t> bytes;
  std::function<std::vector<GgufValue>()> decode;
  std::once_flag decoded;
};

GgufValue GgufValue::make_encoded_array(GgufType elem_type, uint64_t count, std::span<const uint8_t> bytes,
                                        std::function<std::vector<GgufValue>()> decode) {
  check_element_type(elem_type);
  GgufValue out;
  out.type_ = GgufType::kArray;
  out.array_type_ = elem_type;
  out.array_ = std::make_shared<ArrayStore>();
  out.array_->count = count;
  out.array_->bytes = bytes;
  out.array_->decode = std::move(decode);
  return out;
}

GgufValue GgufValue::make_array(GgufType elem_type, std::vector<GgufValue> elems) {
  check_element_type(elem_type);
  for (size_t i = 0; i < elems.size(); ++i) {
    if (elems[i].type_ != elem_type)
      bad_argument("array of " + std::string(gguf_type_name(elem_type)) + " has element " +
                   std::to_string(i) + " of type " + gguf_type_name(elems[i].type_));
  }
  GgufValue out;
  out.type_ = GgufType::kArray;
  out.array_type_ = elem_type;
  out.array_ = std::make_shared<ArrayStore>();
  out.array_->count = elems.size();
  out.array_->elems = std::move(elems);
  return out;
}

GgufValue GgufValue::string_array(const std::vector<std::string>& v) {
  std::vector<GgufValue> elems;
  elems.reserve(v.size());
  for (const auto& s : v) elems.push_back(make_string(s));
  return make_array(GgufType::kString, std::move(elems));
}

GgufValue GgufValue::f32_array(const std::vector<float>& v) {
  std::vector<GgufValue> elems;
  elems.reserve(v.size());
  for (float f : v) elems.push_back(f32(f));
  return make_array(GgufType::kFloat32, std::move(elems));
}

GgufValue GgufValue::i32_array(const std::vector<int32_t>& v) {
  std::vector<GgufValue> elems;
  elems.reserve(v.size());
  for (int32_t x : v) elems.push_back(i32(x));
  return make_array(GgufType::kInt32, std::move(elems));
}

bool GgufValue::is_integer() const { return is_unsigned_type(type_) || is_signed_type(type_); }

bool GgufValue::is_float() const {
  return type_ == GgufType::kFloat32 || type_ == GgufType::kFloat64;
}

uint64_t GgufValue::as_uint() const {
  if (is_unsigned_type(type_)) return u_;
  if (is_signed_type(type_)) {
    if (i_ < 0)
      throw Error(ErrorCode::kFormat, "value " + std::to_string(i_) + " (" + gguf_type_name(type_) +
                                          ") is negative, expected an unsigned integer");
    return static_cast<uint64_t>(i_);
  }
  type_mismatch(type_, "an integer");
}

int64_t GgufValue::as_int() const {
  if (is_signed_type(type_)) return i_;
  if (is_unsigned_type(type_)) {
    if (u_ > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      throw Error(ErrorCode::kFormat,
                  "value " + std::to_string(u_) + " (uint64) does not fit a signed 64-bit integer");
    return static_cast<int64_t>(u_);
  }
  type_mismatch(type_, "an integer");
}

double GgufValue::as_float() const {
  if (is_float()) return f_;
  if (is_unsigned_type(type_)) return static_cast<double>(u_);
  if (is_signed_type(type_)) return static_cast<double>(i_);
  type_mismatch(type_, "a number");
}

bool GgufValue::as_bool() const {
  if (type_ != GgufType::kBool) type_mismatch(type_, "bool");
  return u_ != 0;
}

std::string_view GgufValue::as_string() const {
  if (type_ != GgufType::kString) type_mismatch(type_, "string");
  return owns_string_ ? std::string_view(owned_) : view_;
}

const std::vector<GgufValue>& GgufValue::as_array() const {
  if (type_ != GgufType::kArray) type_mismatch(type_, "array");
  ArrayStore& a = *array_;
  if (a.decode) std::call_once(a.decoded, [&a] { a.elems = a.decode(); });
  return a.elems;
}

uint64_t GgufValue::array_size() const {
  if (type_ != GgufType::kArray) type_mismatch(type_, "array");
  return array_->count;
}

std::span<const uint8_t> GgufValue::encoded_bytes() const {
  if (type_ != GgufType::kArray) type_mismatch(type_, "array");
  return array_->bytes;
}

bool operator==(const GgufValue& a, const GgufValue& b) {
  if (a.type_ != b.type_) return false;
  if (is_unsigned_type(a.type_) || a.type_ == GgufType::kBool) return a.u_ == b.u_;
  if (is_signed_type(a.type_)) return a.i_ == b.i_;
  if (a.is_float()) {
    if (std::isnan(a.f_) || std::isnan(b.f_)) return std::isnan(a.f_) && std::isnan(b.f_);
    return double_bits(a.f_) == double_bits(b.f_);
  }
  if (a.type_ == GgufType::kString) return a.as_string() == b.as_string();
  if (a.type_ == GgufType::kArray) {
    if (a.array_type_ != b.array_type_) return false;
    return a.array_ == b.array_ || a.as_array() == b.as_array();
  }
  return false;
}

}  // namespace hearth::formats
