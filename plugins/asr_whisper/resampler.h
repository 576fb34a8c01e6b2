// resampler: band-limited sample-rate conversion of mono float audio by a
// Kaiser-windowed sinc, with the cutoff below the lower of the two Nyquist
// frequencies so downsampling does not alias. Part of the asr_whisper plugin.
#pragma once

#include <vector>

namespace asr_audio {

// Converts `input` sampled at `from_rate` Hz to `to_rate` Hz. Output length is
// round(input.size() * to_rate / from_rate); equal rates return a copy.
std::vector<float> resample(const std::vector<float>& input, int from_rate, int to_rate);

}  // namespace asr_audio
