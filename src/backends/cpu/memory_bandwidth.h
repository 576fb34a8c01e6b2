// How fast this machine streams memory into the cores: the ceiling on token
// generation, which reads every weight once per token. Benchmarks divide the
// bytes a token reads by this figure to say how close a run comes to the bound.
#pragma once

#include <cstddef>

#include "core/thread_pool.h"

namespace hearth::cpu {

struct BandwidthOptions {
  size_t buffer_bytes = size_t{1} << 30;  // well past any last-level cache
  int passes = 9;  // the median pass is reported: this machine's figure moves by 20% from run to run
};

// Read bandwidth in bytes per second, with every thread of pool reading its
// own contiguous share of one buffer (as a matmul reads its share of the weight
// rows). The buffer is allocated, touched once, read passes times, and freed.
double measure_read_bandwidth(ThreadPool& pool, const BandwidthOptions& options = {});

}  // namespace hearth::cpu
