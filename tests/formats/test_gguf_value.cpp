#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "formats/gguf.h"
#include "gguf_test_util.h"

namespace hearth::formats {
namespace {

using testing::expect_error;

TEST(GgufValue, TypeNames) {
  EXPECT_STREQ(gguf_type_name(GgufType::kUint8), "uint8");
  EXPECT_STREQ(gguf_type_name(GgufType::kBool), "bool");
  EXPECT_STREQ(gguf_type_name(GgufType::kArray), "array");
  EXPECT_STREQ(gguf_type_name(GgufType::kFloat64), "float64");
  EXPECT_STREQ(gguf_type_name(static_cast<GgufType>(13)), "invalid");
}

TEST(GgufValue, BuildersCheckRanges) {
  EXPECT_EQ(GgufValue::make_uint(GgufType::kUint8, 255).as_uint(), 255u);
  expect_error([] { GgufValue::make_uint(GgufType::kUint8, 256); }, ErrorCode::kInvalidArgument, {"uint8"});
  expect_error([] { GgufValue::make_uint(GgufType::kInt16, 40000); }, ErrorCode::kInvalidArgument, {"int16"});
  EXPECT_EQ(GgufValue::make_int(GgufType::kInt8, -128).as_int(), -128);
  expect_error([] { GgufValue::make_int(GgufType::kInt8, -129); }, ErrorCode::kInvalidArgument, {"int8"});
  expect_error([] { GgufValue::make_int(GgufType::kUint32, -1); }, ErrorCode::kInvalidArgument, {"uint32"});
  expect_error([] { GgufValue::make_uint(GgufType::kString, 1); }, ErrorCode::kInvalidArgument, {"string"});
  expect_error([] { GgufValue::make_float(GgufType::kInt32, 1.0); }, ErrorCode::kInvalidArgument, {"int32"});
  // A signed type accepts make_uint when the value fits, and vice versa.
  EXPECT_EQ(GgufValue::make_uint(GgufType::kInt64, 7).type(), GgufType::kInt64);
  EXPECT_EQ(GgufValue::make_int(GgufType::kUint64, 7).as_uint(), 7u);
}

TEST(GgufValue, IntegersCoerceWithRangeChecks) {
  const GgufValue neg = GgufValue::i32(-5);
  EXPECT_TRUE(neg.is_integer());
  EXPECT_FALSE(neg.is_float());
  EXPECT_EQ(neg.as_int(), -5);
  EXPECT_DOUBLE_EQ(neg.as_float(), -5.0);
  expect_error([&] { neg.as_uint(); }, ErrorCode::kFormat, {"-5", "negative"});

  const GgufValue big = GgufValue::make_uint(GgufType::kUint64, std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(big.as_uint(), std::numeric_limits<uint64_t>::max());
  expect_error([&] { big.as_int(); }, ErrorCode::kFormat, {"18446744073709551615"});

  EXPECT_EQ(GgufValue::make_int(GgufType::kInt64, 3).as_uint(), 3u);
}

TEST(GgufValue, WrongTypesThrowFormatErrors) {
  const GgufValue s = GgufValue::str("hi");
  expect_error([&] { s.as_uint(); }, ErrorCode::kFormat, {"string", "integer"});
  expect_error([&] { s.as_float(); }, ErrorCode::kFormat, {"string"});
  expect_error([&] { s.as_array(); }, ErrorCode::kFormat, {"array"});
  expect_error([&] { s.as_bool(); }, ErrorCode::kFormat, {"bool"});
  expect_error([] { GgufValue::u32(1).as_string(); }, ErrorCode::kFormat, {"uint32", "string"});
  expect_error([] { GgufValue::f32(1).as_int(); }, ErrorCode::kFormat, {"float32"});
  expect_error([] { GgufValue::make_uint(GgufType::kUint8, 1).as_bool(); }, ErrorCode::kFormat, {"uint8"});
}

TEST(GgufValue, Float32StoresTheRoundedValue) {
  const GgufValue v = GgufValue::f32(0.1f);
  EXPECT_EQ(v.as_float(), static_cast<double>(0.1f));
  EXPECT_EQ(GgufValue::make_float(GgufType::kFloat32, 0.1).as_float(), static_cast<double>(0.1f));
  EXPECT_EQ(GgufValue::make_float(GgufType::kFloat64, 0.1).as_float(), 0.1);
}

TEST(GgufValue, OwnedStringsSurviveCopiesAndMoves) {
  std::vector<GgufValue> values;
  for (int i = 0; i < 100; ++i) values.push_back(GgufValue::str("value " + std::to_string(i)));  // forces reallocation
  EXPECT_EQ(values[0].as_string(), "value 0");
  EXPECT_EQ(values[99].as_string(), "value 99");
  GgufValue copy = values[5];
  values.clear();
  EXPECT_EQ(copy.as_string(), "value 5");

  const std::string external = "external bytes";
  const GgufValue view = GgufValue::make_string_view(external);
  EXPECT_EQ(view.as_string().data(), external.data());  // no copy
}

TEST(GgufValue, ArraysCheckElementTypes) {
  const GgufValue a = GgufValue::i32_array({1, -2, 3});
  EXPECT_EQ(a.type(), GgufType::kArray);
  EXPECT_EQ(a.array_type(), GgufType::kInt32);
  ASSERT_EQ(a.as_array().size(), 3u);
  EXPECT_EQ(a.as_array()[1].as_int(), -2);
  expect_error([] { GgufValue::make_array(GgufType::kInt32, {GgufValue::i32(1), GgufValue::f32(2)}); },
               ErrorCode::kInvalidArgument, {"element 1", "float32"});
  const GgufValue nested = GgufValue::make_array(GgufType::kArray, {a, GgufValue::string_array({"x"})});
  EXPECT_EQ(nested.as_array()[1].as_array()[0].as_string(), "x");
}

TEST(GgufValue, Equality) {
  EXPECT_EQ(GgufValue::u32(3), GgufValue::u32(3));
  EXPECT_NE(GgufValue::u32(3), GgufValue::i32(3));  // type is part of the value
  EXPECT_NE(GgufValue::u32(3), GgufValue::u32(4));
  EXPECT_EQ(GgufValue::f32(NAN), GgufValue::f32(NAN));
  EXPECT_NE(GgufValue::f32(0.0f), GgufValue::f32(-0.0f));
  EXPECT_EQ(GgufValue::str("a"), GgufValue::make_string_view("a"));
  EXPECT_EQ(GgufValue::f32_array({1, 2}), GgufValue::f32_array({1, 2}));
  EXPECT_NE(GgufValue::f32_array({1, 2}), GgufValue::f32_array({1, 3}));
  EXPECT_NE(GgufValue::make_array(GgufType::kInt32, {}), GgufValue::make_array(GgufType::kUint32, {}));
}

}  // namespace
}  // namespace hearth::formats
