#include "core/base64.h"

#include <gtest/gtest.h>

#include <random>

namespace hearth {
namespace {

TEST(Base64, KnownVectors) {  // RFC 4648, section 10
  const std::pair<const char*, const char*> cases[] = {{"", ""},         {"f", "Zg=="},     {"fo", "Zm8="},
                                                       {"foo", "Zm9v"},  {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
                                                       {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, coded] : cases) {
    EXPECT_EQ(base64_encode(plain), coded);
    EXPECT_EQ(base64_decode(coded).value_or("<none>"), plain);
  }
}

TEST(Base64, RandomBytesRoundTrip) {
  std::mt19937 rng(7);
  for (int n = 0; n < 200; ++n) {
    std::string bytes(static_cast<size_t>(n), '\0');
    for (char& c : bytes) c = static_cast<char>(rng() & 255);
    EXPECT_EQ(base64_decode(base64_encode(bytes)).value_or("<none>"), bytes) << n;
  }
}

TEST(Base64, SkipsLineBreaksAndRefusesWhatIsNotBase64) {
  EXPECT_EQ(base64_decode("Zm9v\r\nYmFy\n").value_or("<none>"), "foobar");
  for (const char* bad : {"Zm9v!", "Z", "Zm9=v", "Zg===", "Zg=", "Zm9vY"}) EXPECT_FALSE(base64_decode(bad)) << bad;
}

}  // namespace
}  // namespace hearth
