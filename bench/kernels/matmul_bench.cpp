// Matmul micro-benchmarks for every weight type Hearth has kernels for:
//   gemv: one token against a weight matrix larger than the last-level cache,
//         so the figure is memory streaming (weight GB/s), as in generation;
//   gemv_l3: the same against an 8 MB matrix that stays in the last-level
//         cache: the kernel's compute ceiling (gemv far below it is memory-bound);
//   gemm64: 64 tokens against a cache-sized matrix, compute-bound (GFLOP/s), as
//         in prompt processing;
//   gemm4/gemm8/gemm16/gemm32: batched decoding (one token per sequence) on the default
//         model's shapes: k576xn1536 (gate/up), k1536xn576 (down), k576xn49152
//         (the q8_0 output/embedding matrix); k-quants on k2048xn2048 (1B class).
//   q4_k_x8: gemv, gemv_l3 and gemm64 of q4_K regrouped in 8-row groups
//         (backends/cpu/q4k_x8.h), where the CPU has that kernel.
// HEARTH_ISA=avx2 runs the AVX2 kernels on a CPU with more. On a shared machine the
// CPU-time column of threads:1 (with --benchmark_repetitions) is steadier than the
// real-time rates.
// Run: build/bin/bench_kernels [--benchmark_filter=q4_k] (threads are the
// benchmark's argument). Weights are random rows quantized by the reference
// quantizer; the speed of a kernel does not depend on the values.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "backends/cpu/matmul.h"
#include "backends/cpu/q4k_x8.h"
#include "core/dtype.h"
#include "core/thread_pool.h"
#include "quant/quantize.h"

namespace {

using hearth::DType;

struct Problem {
  hearth::cpu::MatMulShape shape;
  std::vector<uint8_t> weights;
  std::vector<float> x;
  std::vector<float> y;
  std::vector<uint8_t> scratch;
};

// A pool of random quantized rows tiled over the matrix: quantizing a whole
// 100 MB matrix with the reference quantizer would dominate the run.
std::unique_ptr<Problem> make_problem(DType type, int64_t k, int64_t n_out, int64_t n_tokens) {
  auto p = std::make_unique<Problem>();
  p->shape = {type, k, n_out, n_tokens};
  const int64_t row_bytes = hearth::dtype_row_bytes(type, k);
  constexpr int64_t kPoolRows = 64;
  std::mt19937 rng(7);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> row(static_cast<size_t>(k));
  std::vector<uint8_t> pool(static_cast<size_t>(row_bytes * kPoolRows));
  for (int64_t r = 0; r < kPoolRows; ++r) {
    for (float& v : row) v = dist(rng);
    hearth::quant::quantize_row(type, row.data(), pool.data() + r * row_bytes, k);
  }
  p->weights.resize(static_cast<size_t>(row_bytes * n_out));
  for (int64_t r = 0; r < n_out; ++r)
    std::copy_n(pool.data() + (r * 37 % kPoolRows) * row_bytes, row_bytes, p->weights.data() + r * row_bytes);
  p->x.resize(static_cast<size_t>(k * n_tokens));
  for (float& v : p->x) v = dist(rng);
  p->y.resize(static_cast<size_t>(n_out * n_tokens));
  p->scratch.resize(hearth::cpu::matmul_scratch_bytes(p->shape));
  return p;
}

void run(benchmark::State& state, DType type, int64_t k, int64_t n_out, int64_t n_tokens, bool grouped = false) {
  auto p = make_problem(type, k, n_out, n_tokens);
  hearth::ThreadPool pool(static_cast<int>(state.range(0)));
  if (grouped) {  // the q4_K rows regrouped, as a model's are on first use
    std::vector<uint8_t> packed(hearth::cpu::q4k_x8_bytes(n_out, k));
    hearth::cpu::q4k_x8_pack(p->weights.data(), n_out, k, packed.data());
    p->weights = std::move(packed);
  }
  const hearth::cpu::MatMulTarget target{type, n_out, p->weights.data(), p->y.data(), grouped};
  for (auto _ : state) {
    hearth::cpu::matmul_group(k, n_tokens, &target, 1, p->x.data(), p->scratch.data(), &pool);
    benchmark::DoNotOptimize(p->y.data());
  }
  const double iters = static_cast<double>(state.iterations());
  state.counters["weight_GB/s"] = benchmark::Counter(static_cast<double>(p->weights.size()) * iters / 1e9,
                                                     benchmark::Counter::kIsRate);
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * static_cast<double>(k * n_out * n_tokens) * iters / 1e9, benchmark::Counter::kIsRate);
}

const DType kTypes[] = {DType::kF32,  DType::kF16,  DType::kBF16, DType::kQ8_0, DType::kQ4_0, DType::kQ4_1,
                        DType::kQ5_0, DType::kQ5_1, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K};

int register_all() {
  for (DType type : kTypes) {
    const std::string name(hearth::dtype_name(type));
    // gemv: ~128 MB of weights whatever the type, k = 4096.
    const int64_t k = 4096;
    const int64_t gemv_rows = (int64_t{128} << 20) / hearth::dtype_row_bytes(type, k);
    benchmark::RegisterBenchmark(("gemv/" + name).c_str(),
                                 [=](benchmark::State& s) { run(s, type, k, gemv_rows, 1); })
        ->Arg(1)->Arg(2)->ArgName("threads")->UseRealTime()->Unit(benchmark::kMillisecond);
    const int64_t cached_rows = (int64_t{8} << 20) / hearth::dtype_row_bytes(type, k);
    benchmark::RegisterBenchmark(("gemv_l3/" + name).c_str(),
                                 [=](benchmark::State& s) { run(s, type, k, cached_rows, 1); })
        ->Arg(1)->Arg(2)->ArgName("threads")->UseRealTime()->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("gemm64/" + name).c_str(),
                                 [=](benchmark::State& s) { run(s, type, 2048, 2048, 64); })
        ->Arg(1)->Arg(2)->ArgName("threads")->UseRealTime()->Unit(benchmark::kMillisecond);
    const int64_t block = hearth::dtype_info(type).block_elems;
    struct Shape {
      int64_t k, n_out;
    };
    std::vector<Shape> shapes;
    if (576 % block == 0) {
      shapes = {{576, 1536}, {1536, 576}};
      if (type == DType::kQ8_0 || type == DType::kQ4_1) shapes.push_back({576, 49152});
    } else {
      shapes = {{2048, 2048}};
    }
    for (int64_t tokens : {4, 8, 16, 32}) {
      for (const Shape& sh : shapes) {
        if (tokens != 16 && sh.n_out == 49152) continue;
        const std::string label = "gemm" + std::to_string(tokens) + "/" + name + "/k" + std::to_string(sh.k) + "xn" +
                                  std::to_string(sh.n_out);
        benchmark::RegisterBenchmark(label.c_str(),
                                     [=](benchmark::State& s) { run(s, type, sh.k, sh.n_out, tokens); })
            ->Arg(1)->Arg(2)->ArgName("threads")->UseRealTime()->Unit(benchmark::kMicrosecond);
      }
    }
  }
  if (hearth::cpu::q4k_x8_available()) {
    const DType q4k = DType::kQ4_K;
    const int64_t k = 4096;
    const int64_t row_bytes = hearth::dtype_row_bytes(q4k, k);
    const int64_t gemv_rows = (int64_t{128} << 20) / row_bytes / 8 * 8;
    const int64_t cached_rows = (int64_t{8} << 20) / row_bytes / 8 * 8;
    benchmark::RegisterBenchmark("gemv/q4_k_x8", [=](benchmark::State& s) { run(s, q4k, k, gemv_rows, 1, true); })
        ->Arg(1)->Arg(2)->ArgName("threads")->UseRealTime()->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("gemv_l3/q4_k_x8", [=](benchmark::State& s) { run(s, q4k, k, cached_rows, 1, true); })
        ->Arg(1)->Arg(2)->ArgName("threads")->UseRealTime()->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("gemm64/q4_k_x8", [=](benchmark::State& s) { run(s, q4k, 2048, 2048, 64, true); })
        ->Arg(1)->Arg(2)->ArgName("threads")->UseRealTime()->Unit(benchmark::kMillisecond);
  }
  return 0;
}

const int registered = register_all();

}  // namespace

BENCHMARK_MAIN();
