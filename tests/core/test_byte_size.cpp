#include <gtest/gtest.h>

#include "core/byte_size.h"
#include "core/error.h"
#include "core/process_memory.h"

namespace hearth {
namespace {

TEST(ByteSize, ParsesNumbersAndBinaryUnits) {
  EXPECT_EQ(parse_byte_size("1048576"), 1048576);
  EXPECT_EQ(parse_byte_size("512B"), 512);
  EXPECT_EQ(parse_byte_size("4k"), 4096);
  EXPECT_EQ(parse_byte_size("6G"), int64_t{6} << 30);
  EXPECT_EQ(parse_byte_size("6 GiB"), int64_t{6} << 30);
  EXPECT_EQ(parse_byte_size("1.5gb"), int64_t{3} << 29);
  EXPECT_EQ(parse_byte_size(" 512MiB "), int64_t{512} << 20);
  EXPECT_EQ(parse_byte_size("2T"), int64_t{2} << 40);
}

TEST(ByteSize, RefusesWhatIsNotASize) {
  for (const char* bad : {"", "G", "lots", "-5G", "6Q", "1.2.3M", "0", "0.1", "99999999999T", "6 G B"}) {
    try {
      parse_byte_size(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
      EXPECT_NE(std::string(e.what()).find(std::string("'") + bad + "'"), std::string::npos) << e.what();
    }
  }
}

TEST(ByteSize, FormatsWithBinaryUnits) {
  EXPECT_EQ(format_bytes(0), "0 B");
  EXPECT_EQ(format_bytes(1023), "1023 B");
  EXPECT_EQ(format_bytes(1536), "1.50 KiB");
  EXPECT_EQ(format_bytes(int64_t{94} << 20), "94.0 MiB");
  EXPECT_EQ(format_bytes(int64_t{300} << 30), "300 GiB");
}

TEST(ProcessMemory, ReportsPlausibleFigures) {
  const ProcessMemory before = process_memory();
  EXPECT_GT(before.resident, 0);
  EXPECT_GE(before.peak_resident, before.resident);
  // Touching 64 MiB raises the resident size and the peak by about that much.
  std::vector<char> block(64 << 20, 1);
  const ProcessMemory after = process_memory();
  EXPECT_GT(after.resident, before.resident + (48 << 20));
  EXPECT_GE(after.peak_resident, after.resident);
  const SystemMemory sys = system_memory();
  EXPECT_GT(sys.physical, int64_t{256} << 20);
  EXPECT_LE(sys.available, sys.physical);
  EXPECT_EQ(block[12345], 1);
}

}  // namespace
}  // namespace hearth
