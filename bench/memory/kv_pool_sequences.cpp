// bench_kv_pool: N sequences of T tokens each decoded in turn into one shared
// KV pool sized for exactly N*T positions, as the server will run them. Prints
// the pool's figures (bytes, blocks in use, share of taken positions left
// unfilled) beside what N private caches of the model's full context would
// reserve. Usage: bench_kv_pool MODEL [sequences=8] [tokens=1024] [kv=f16] [block=16]
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/byte_size.h"
#include "core/error.h"
#include "models/model.h"
#include "runtime/kv_pool.h"
#include "runtime/session.h"

using namespace hearth;

int main(int argc, char** argv) {
  try {
    if (argc < 2) {
      std::fprintf(stderr, "usage: bench_kv_pool MODEL [sequences=8] [tokens=1024] [kv=f16] [block=16]\n");
      return 2;
    }
    const std::string path = argv[1];
    const int sequences = argc > 2 ? std::stoi(argv[2]) : 8;
    const int64_t tokens = argc > 3 ? std::stoll(argv[3]) : 1024;
    const DType kv_type = runtime::parse_kv_type(argc > 4 ? argv[4] : "f16");
    const int64_t block = argc > 5 ? std::stoll(argv[5]) : 16;
    if (sequences < 1 || sequences > 256 || tokens < 1 || tokens > 65536)
      throw Error(ErrorCode::kInvalidArgument, "sequences must be 1..256 and tokens 1..65536");

    auto model = models::Model::load(path);
    runtime::SessionOptions o;
    o.n_ctx = tokens;
    o.n_batch = 256;
    o.kv_type = kv_type;
    o.kv_block_positions = block;
    const runtime::KvPoolShape shape = runtime::kv_pool_shape(*model, o);
    const int64_t n_blocks = (sequences * tokens + block - 1) / block;
    o.kv_pool = std::make_shared<runtime::KvPool>(shape, n_blocks);

    std::vector<std::unique_ptr<runtime::Session>> sessions;
    for (int i = 0; i < sequences; ++i) sessions.push_back(std::make_unique<runtime::Session>(model, o));
    // Each sequence gets its tokens in chunks of 128, taking turns, so their
    // blocks interleave in the pool as a server's would.
    std::mt19937 rng(1);
    std::uniform_int_distribution<int32_t> pick(0, static_cast<int32_t>(sessions[0]->n_vocab() - 1));
    const auto t0 = std::chrono::steady_clock::now();
    for (int64_t done = 0; done < tokens; done += 128) {
      const int64_t n = std::min<int64_t>(128, tokens - done);
      for (auto& s : sessions) {
        std::vector<int32_t> chunk(static_cast<size_t>(n));
        for (int32_t& t : chunk) t = pick(rng);
        s->decode(chunk);
      }
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    const runtime::KvPoolStats st = o.kv_pool->stats();
    const int64_t full_ctx = runtime::resolve_context(*model, 0);
    const int64_t private_bytes = sequences * runtime::kv_bytes_for(shape, full_ctx);
    std::printf("model              %s\n", path.c_str());
    std::printf("sequences          %d x %lld tokens, KV %s, blocks of %lld positions (%s each)\n", sequences,
                static_cast<long long>(tokens), std::string(dtype_name(kv_type)).c_str(),
                static_cast<long long>(block), format_bytes(o.kv_pool->block_bytes()).c_str());
    std::printf("pool               %s in %lld blocks\n", format_bytes(st.bytes).c_str(),
                static_cast<long long>(st.blocks));
    std::printf("blocks in use      %lld of %lld (%lld positions filled of %lld taken)\n",
                static_cast<long long>(st.blocks_in_use), static_cast<long long>(st.blocks),
                static_cast<long long>(st.positions_held), static_cast<long long>(st.blocks_in_use * block));
    std::printf("wasted             %.2f%% of the taken positions, %.2f%% of the pool unused\n",
                100.0 * st.wasted_fraction(),
                100.0 * (1.0 - static_cast<double>(st.positions_held) / static_cast<double>(st.blocks * block)));
    std::printf("private caches     %s for %d contexts of %lld (the pool is %.1f%% of that)\n",
                format_bytes(private_bytes).c_str(), sequences, static_cast<long long>(full_ctx),
                100.0 * static_cast<double>(st.bytes) / static_cast<double>(private_bytes));
    std::printf("time               %.1f s (%.0f tokens/s)\n", seconds,
                static_cast<double>(sequences * tokens) / seconds);
    return st.blocks_in_use <= st.blocks && st.wasted_fraction() < 0.10 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_kv_pool: %s\n", e.what());
    return 1;
  }
}
