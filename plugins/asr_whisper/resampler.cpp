#include "resampler.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <stdexcept>

namespace asr_audio {
namespace {

// Zero crossings of the sinc kept on each side, and the Kaiser window's beta:
// together a transition band about 6% of the lower rate wide (7.5-8 kHz at
// 16 kHz) and over 60 dB of stop-band attenuation (tests/asr measure both).
constexpr int kZeroCrossings = 48;
constexpr double kKaiserBeta = 9.0;
// The pass band ends this fraction of the way to the lower Nyquist frequency;
// the rest is the transition band.
constexpr double kPassFraction = 0.94;
// Kernel table steps per input sample; values between steps are interpolated.
constexpr int kTableSteps = 512;

const double kPi = std::acos(-1.0);

// Zeroth-order modified Bessel function of the first kind, by its power series.
double bessel_i0(double x) {
  double sum = 1.0, term = 1.0;
  const double q = x * x / 4.0;
  for (int k = 1; k < 200; ++k) {
    term *= q / (double(k) * double(k));
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

// h(d) for d >= 0 input samples from the output instant, sampled every
// 1/kTableSteps; `cutoff` is relative to the input's Nyquist frequency.
std::vector<double> kernel_table(double cutoff, double half_width) {
  const std::size_t n = std::size_t(std::ceil(half_width * kTableSteps)) + 2;
  std::vector<double> table(n, 0.0);
  const double norm = bessel_i0(kKaiserBeta);
  for (std::size_t i = 0; i < n; ++i) {
    const double d = double(i) / kTableSteps;
    if (d >= half_width) break;
    const double x = cutoff * d;
    const double sinc = x == 0 ? 1.0 : std::sin(kPi * x) / (kPi * x);
    const double r = d / half_width;
    const double window = bessel_i0(kKaiserBeta * std::sqrt(1.0 - r * r)) / norm;
    table[i] = cutoff * sinc * window;
  }
  return table;
}

}  // namespace

std::vector<float> resample(const std::vector<float>& input, int from_rate, int to_rate) {
  if (from_rate <= 0 || to_rate <= 0) throw std::invalid_argument("resample: sample rates must be positive");
  if (from_rate == to_rate || input.empty()) return input;
  const double step = double(from_rate) / double(to_rate);  // input samples per output sample
  const double cutoff = kPassFraction * std::min(1.0, double(to_rate) / double(from_rate));
  const double half_width = kZeroCrossings / cutoff;
  const std::vector<double> table = kernel_table(cutoff, half_width);
  auto kernel = [&](double d) {
    const double at = std::fabs(d) * kTableSteps;
    const std::size_t i = std::size_t(at);
    if (i + 1 >= table.size()) return 0.0;
    const double frac = at - double(i);
    return table[i] + (table[i + 1] - table[i]) * frac;
  };
  const std::size_t out_len = std::size_t(std::llround(double(input.size()) / step));
  std::vector<float> out(out_len);
  const long long last = static_cast<long long>(input.size()) - 1;
  for (std::size_t n = 0; n < out_len; ++n) {
    const double t = double(n) * step;  // the output instant, in input samples
    const long long lo = std::max<long long>(0, static_cast<long long>(std::ceil(t - half_width)));
    const long long hi = std::min<long long>(last, static_cast<long long>(std::floor(t + half_width)));
    double acc = 0.0;
    for (long long k = lo; k <= hi; ++k) acc += double(input[std::size_t(k)]) * kernel(t - double(k));
    out[n] = float(acc);
  }
  return out;
}

}  // namespace asr_audio
