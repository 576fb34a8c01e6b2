// resampler: tones in the pass band come through at the right frequency and
// level, tones above the new Nyquist frequency are removed, lengths and DC hold.
#include "resampler.h"

#include <gtest/gtest.h>

#include <cmath>

namespace {

const double kPi = std::acos(-1.0);

std::vector<float> tone(double hz, int rate, double seconds, double amplitude = 0.5) {
  std::vector<float> x(std::size_t(seconds * rate));
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = float(amplitude * std::sin(2 * kPi * hz * double(i) / rate));
  return x;
}

// The largest difference from the ideal tone at `rate`, away from the edges
// (where the filter sees zeros beyond the signal).
double max_error_vs_tone(const std::vector<float>& y, double hz, int rate, double amplitude = 0.5) {
  double worst = 0;
  const std::size_t margin = std::size_t(rate / 20);
  for (std::size_t i = margin; i + margin < y.size(); ++i)
    worst = std::max(worst, std::fabs(double(y[i]) - amplitude * std::sin(2 * kPi * hz * double(i) / rate)));
  return worst;
}

double rms_inside(const std::vector<float>& y, int rate) {
  const std::size_t margin = std::size_t(rate / 20);
  double sum = 0;
  std::size_t n = 0;
  for (std::size_t i = margin; i + margin < y.size(); ++i, ++n) sum += double(y[i]) * y[i];
  return std::sqrt(sum / double(n));
}

struct RateCase {
  int from;
  double hz;
};

class ResamplerPassBand : public testing::TestWithParam<RateCase> {};

TEST_P(ResamplerPassBand, ToneSurvivesConversionTo16k) {
  const RateCase c = GetParam();
  const auto y = asr_audio::resample(tone(c.hz, c.from, 1.0), c.from, 16000);
  EXPECT_EQ(y.size(), 16000u);
  // -60 dB relative to the tone's amplitude of 0.5.
  EXPECT_LT(max_error_vs_tone(y, c.hz, 16000), 5e-4) << c.from << " Hz input, " << c.hz << " Hz tone";
}

INSTANTIATE_TEST_SUITE_P(Rates, ResamplerPassBand,
                         testing::Values(RateCase{8000, 440}, RateCase{8000, 3000}, RateCase{11025, 1000},
                                         RateCase{22050, 440}, RateCase{22050, 6500}, RateCase{44100, 1000},
                                         RateCase{44100, 7000}, RateCase{48000, 300}, RateCase{48000, 5000},
                                         RateCase{96000, 2500}),
                         [](const testing::TestParamInfo<RateCase>& i) {
                           return "From" + std::to_string(i.param.from) + "Hz_Tone" + std::to_string(int(i.param.hz)) + "Hz";
                         });

TEST(Resampler, RemovesWhatTheNewRateCannotHold) {
  // 8.4, 9 and 12 kHz are above 16 kHz's Nyquist frequency of 8 kHz: without a
  // low-pass they would alias to 4 kHz and 7 kHz at full level.
  for (double hz : {8400.0, 9000.0, 12000.0, 20000.0}) {
    const auto y = asr_audio::resample(tone(hz, 48000, 1.0), 48000, 16000);
    EXPECT_LT(rms_inside(y, 16000), 0.5 / std::sqrt(2.0) * 1e-3) << hz << " Hz";  // below -60 dB
  }
  const auto y = asr_audio::resample(tone(10000, 44100, 1.0), 44100, 16000);
  EXPECT_LT(rms_inside(y, 16000), 0.5 / std::sqrt(2.0) * 1e-3);
}

TEST(Resampler, KeepsDcLevel) {
  const std::vector<float> x(22050, 0.25f);
  const auto y = asr_audio::resample(x, 22050, 16000);
  ASSERT_EQ(y.size(), 16000u);
  for (std::size_t i = 1000; i < 15000; ++i) ASSERT_NEAR(y[i], 0.25f, 1e-4) << i;
}

TEST(Resampler, LengthFollowsTheRatio) {
  EXPECT_EQ(asr_audio::resample(std::vector<float>(44100 * 3 + 7, 0.f), 44100, 16000).size(),
            std::size_t(std::llround((44100 * 3 + 7) * 16000.0 / 44100)));
  EXPECT_EQ(asr_audio::resample(std::vector<float>(1, 0.5f), 8000, 16000).size(), 2u);
}

TEST(Resampler, EqualRatesAndEmptyInputAreCopies) {
  const std::vector<float> x = {0.1f, -0.2f, 0.3f};
  EXPECT_EQ(asr_audio::resample(x, 16000, 16000), x);
  EXPECT_TRUE(asr_audio::resample({}, 44100, 16000).empty());
}

TEST(Resampler, RejectsNonPositiveRates) {
  EXPECT_THROW(asr_audio::resample({0.f}, 0, 16000), std::invalid_argument);
  EXPECT_THROW(asr_audio::resample({0.f}, 16000, -1), std::invalid_argument);
}

}  // namespace
