// End-to-end checks of the whole forward pass on small random-weight models
// written through the GGUF writer, one per weight type and architecture,
// against a plain double-precision reference written here from the
// architectures' definitions.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <random>
#include <vector>

#include "formats/gguf.h"
#include "models/model.h"
#include "models/synth.h"
#include "quant/quantize.h"
#include "runtime/session.h"

namespace hearth {
namespace {

using Vec = std::vector<double>;

class Reference {
 public:
  Reference(const std::string& path, const models::SynthSpec& s) : file_(formats::GgufFile::open(path)), s_(s) {}

  Vec weight(const std::string& name) const {
    const formats::GgufTensorInfo* t = file_->find_tensor(name);
    if (!t) return {};
    std::vector<float> f(static_cast<size_t>(t->n_elements()));
    quant::dequantize_row(t->type, file_->tensor_data(*t), f.data(), t->n_elements());
    return Vec(f.begin(), f.end());
  }

  // W is rows x cols (cols innermost); y = W x
  static Vec matmul(const Vec& w, const Vec& x) {
    const size_t cols = x.size(), rows = w.size() / cols;
    Vec y(rows, 0.0);
    for (size_t r = 0; r < rows; ++r)
      for (size_t c = 0; c < cols; ++c) y[r] += w[r * cols + c] * x[c];
    return y;
  }

  static Vec rms_norm(const Vec& x, const Vec& w, double eps, size_t group) {
    Vec y(x.size());
    for (size_t g0 = 0; g0 < x.size(); g0 += group) {
      double ss = 0;
      for (size_t i = 0; i < group; ++i) ss += x[g0 + i] * x[g0 + i];
      const double inv = 1.0 / std::sqrt(ss / static_cast<double>(group) + eps);
      for (size_t i = 0; i < group; ++i) y[g0 + i] = x[g0 + i] * inv * w[i];
    }
    return y;
  }

  static void rope(Vec& x, size_t n_head, size_t hd, int pos, double base, bool neox, const Vec& factors) {
    for (size_t h = 0; h < n_head; ++h)
      for (size_t i = 0; i < hd / 2; ++i) {
        const double theta = pos * std::pow(base, -2.0 * static_cast<double>(i) / static_cast<double>(hd)) /
                             (factors.empty() ? 1.0 : factors[i]);
        const size_t a = neox ? h * hd + i : h * hd + 2 * i;
        const size_t b = neox ? h * hd + i + hd / 2 : h * hd + 2 * i + 1;
        const double x0 = x[a], x1 = x[b];
        x[a] = x0 * std::cos(theta) - x1 * std::sin(theta);
        x[b] = x0 * std::sin(theta) + x1 * std::cos(theta);
      }
  }

  static double gelu(double v) {
    return 0.5 * v * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v)));
  }

  // Logits after the last of tokens.
  Vec forward(const std::vector<int32_t>& tokens) const {
    const bool gemma = s_.arch == "gemma3", qwen = s_.arch == "qwen2";
    const size_t E = static_cast<size_t>(s_.n_embd), hd = static_cast<size_t>(s_.head_dim);
    const size_t nh = static_cast<size_t>(s_.n_head), nkv = static_cast<size_t>(s_.n_head_kv);
    const double eps = 1e-5;
    const Vec embd = weight("token_embd.weight");
    const Vec rope_freqs = weight("rope_freqs.weight");  // empty when the model has none
    std::vector<Vec> xs;
    for (int32_t t : tokens) {
      Vec x(embd.begin() + t * static_cast<std::ptrdiff_t>(E), embd.begin() + (t + 1) * static_cast<std::ptrdiff_t>(E));
      if (gemma)
        for (double& v : x) v *= std::sqrt(static_cast<double>(E));
      xs.push_back(x);
    }
    for (int64_t l = 0; l < s_.n_layer; ++l) {
      const std::string b = "blk." + std::to_string(l) + ".";
      const bool local = gemma;  // synthetic gemma models have fewer than 6 layers: all sliding-window
      const int64_t window = local ? 8 : 0;
      std::vector<Vec> qs, ks, vs;
      for (size_t t = 0; t < xs.size(); ++t) {
        const Vec cur = rms_norm(xs[t], weight(b + "attn_norm.weight"), eps, E);
        Vec q = matmul(weight(b + "attn_q.weight"), cur);
        Vec k = matmul(weight(b + "attn_k.weight"), cur);
        Vec v = matmul(weight(b + "attn_v.weight"), cur);
        if (qwen) {
          const Vec bq = weight(b + "attn_q.bias"), bk = weight(b + "attn_k.bias"), bv = weight(b + "attn_v.bias");
          for (size_t i = 0; i < q.size(); ++i) q[i] += bq[i];
          for (size_t i = 0; i < k.size(); ++i) k[i] += bk[i];
          for (size_t i = 0; i < v.size(); ++i) v[i] += bv[i];
        }
        if (gemma) {
          q = rms_norm(q, weight(b + "attn_q_norm.weight"), eps, hd);
          k = rms_norm(k, weight(b + "attn_k_norm.weight"), eps, hd);
        }
        rope(q, nh, hd, static_cast<int>(t), 10000.0, gemma || qwen, rope_freqs);
        rope(k, nkv, hd, static_cast<int>(t), 10000.0, gemma || qwen, rope_freqs);
        qs.push_back(q);
        ks.push_back(k);
        vs.push_back(v);
      }
      for (size_t t = 0; t < xs.size(); ++t) {
        Vec attn(nh * hd, 0.0);
        for (size_t h = 0; h < nh; ++h) {
          const size_t kh = h / (nh / nkv);
          std::vector<double> scores;
          std::vector<size_t> seen;
          for (size_t p = 0; p <= t; ++p) {
            if (window > 0 && static_cast<int64_t>(t - p) >= window) continue;
            double dot = 0;
            for (size_t i = 0; i < hd; ++i) dot += qs[t][h * hd + i] * ks[p][kh * hd + i];
            scores.push_back(dot / std::sqrt(static_cast<double>(hd)));
            seen.push_back(p);
          }
          double mx = -1e300, sum = 0;
          for (double sc : scores) mx = std::max(mx, sc);
          for (double& sc : scores) sum += sc = std::exp(sc - mx);
          for (size_t j = 0; j < seen.size(); ++j)
            for (size_t i = 0; i < hd; ++i) attn[h * hd + i] += scores[j] / sum * vs[seen[j]][kh * hd + i];
        }
        Vec o = matmul(weight(b + "attn_output.weight"), attn);
        if (gemma) o = rms_norm(o, weight(b + "post_attention_norm.weight"), eps, E);
        for (size_t i = 0; i < E; ++i) xs[t][i] += o[i];
        const Vec cur = rms_norm(xs[t], weight(b + "ffn_norm.weight"), eps, E);
        const Vec gate = matmul(weight(b + "ffn_gate.weight"), cur), up = matmul(weight(b + "ffn_up.weight"), cur);
        Vec act(gate.size());
        for (size_t i = 0; i < gate.size(); ++i)
          act[i] = (gemma ? gelu(gate[i]) : gate[i] / (1.0 + std::exp(-gate[i]))) * up[i];
        Vec down = matmul(weight(b + "ffn_down.weight"), act);
        if (gemma) down = rms_norm(down, weight(b + "post_ffw_norm.weight"), eps, E);
        for (size_t i = 0; i < E; ++i) xs[t][i] += down[i];
      }
    }
    const Vec last = rms_norm(xs.back(), weight("output_norm.weight"), eps, E);
    Vec out = weight("output.weight");
    return matmul(out.empty() ? embd : out, last);
  }

 private:
  std::unique_ptr<formats::GgufFile> file_;
  models::SynthSpec s_;
};

double relative_error(const std::vector<float>& got, const Vec& want) {
  double num = 0, den = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    num += (got[i] - want[i]) * (got[i] - want[i]);
    den += want[i] * want[i];
  }
  return std::sqrt(num / den);
}

struct Case {
  std::string arch;
  DType type;
  double tolerance;  // relative RMS error of the logits against the reference
  bool rope_freqs = false;
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.arch << "/" << dtype_name(c.type) << (c.rope_freqs ? "/rope_freqs" : "");
}

std::string case_name(const testing::TestParamInfo<Case>& info) {
  return info.param.arch + "_" + std::string(dtype_name(info.param.type)) + (info.param.rope_freqs ? "_rope_freqs" : "");
}

models::SynthSpec case_spec(const Case& c, uint64_t seed) {
  models::SynthSpec spec;
  spec.arch = c.arch;
  spec.weight_type = c.type;
  spec.embedding_type = c.type;
  spec.tied_output = c.arch != "qwen2";
  spec.rope_freqs = c.rope_freqs;
  spec.seed = seed;
  return spec;
}

// Writes the model into the temporary directory; returns its path.
std::string write_case_model(const models::SynthSpec& spec, const std::string& stem) {
  const std::string path = (std::filesystem::temp_directory_path() / (stem + ".gguf")).string();
  models::write_synthetic_model(spec, path);
  return path;
}

class SyntheticModel : public testing::TestWithParam<Case> {};

TEST_P(SyntheticModel, LogitsMatchTheReferenceAndIncrementalDecoding) {
  const Case& c = GetParam();
  const models::SynthSpec spec = case_spec(c, static_cast<uint64_t>(c.type) * 31 + c.arch.size());
  const std::string path = write_case_model(spec, "hearth_synth_" + case_name({c, 0}));

  std::mt19937 rng(7);
  std::vector<int32_t> tokens(13);
  for (auto& t : tokens) t = static_cast<int32_t>(rng() % models::synth_vocab_size());

  auto model = models::Model::load(path);
  const Vec want = Reference(path, spec).forward(tokens);

  runtime::Session batch_session(model, {64, 16, 2});
  auto logits = batch_session.decode(tokens);
  const std::vector<float> batch(logits.begin(), logits.end());
  ASSERT_EQ(batch.size(), want.size());
  EXPECT_LT(relative_error(batch, want), c.tolerance);

  // The same tokens fed in pieces (a prompt, then one at a time, across
  // several batches) match the reference as closely. They need not equal the
  // batch's logits bit for bit: a batch runs tiled matmul kernels, one token
  // runs row kernels, and the two sum in different orders.
  runtime::Session step_session(model, {64, 4, 1});
  step_session.decode(std::span<const int32_t>(tokens.data(), 6));
  std::span<const float> step;
  for (size_t i = 6; i < tokens.size(); ++i) step = step_session.decode(std::span<const int32_t>(&tokens[i], 1));
  const std::vector<float> stepped(step.begin(), step.end());
  EXPECT_LT(relative_error(stepped, want), c.tolerance);
  EXPECT_LT(relative_error(stepped, Vec(batch.begin(), batch.end())), c.tolerance);
  std::filesystem::remove(path);
}

// Greedy decoding token for token against the reference: each step's token is
// the argmax of Hearth's logits, fed back to both. Where it is not the
// reference's argmax as well, the two candidates must be a near-tie in the
// reference (closer than the logits' error allows telling apart); a wrong
// kernel or op shifts logits far beyond that. Most steps must agree exactly.
class SyntheticGreedy : public testing::TestWithParam<Case> {};

TEST_P(SyntheticGreedy, GreedyTokensMatchTheReference) {
  const Case& c = GetParam();
  const models::SynthSpec spec = case_spec(c, static_cast<uint64_t>(c.type) * 17 + 3);
  const std::string path = write_case_model(spec, "hearth_greedy_" + case_name({c, 0}));
  auto model = models::Model::load(path);
  const Reference reference(path, spec);

  std::mt19937 rng(11);
  std::vector<int32_t> tokens(5);
  for (auto& t : tokens) t = static_cast<int32_t>(rng() % models::synth_vocab_size());
  runtime::Session session(model, {64, 8, 1});
  std::span<const float> logits = session.decode(tokens);
  constexpr int kSteps = 12;
  int same = 0;
  for (int step = 0; step < kSteps; ++step) {
    const Vec want = reference.forward(tokens);
    ASSERT_EQ(logits.size(), want.size());
    const auto hearth = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    const auto best = static_cast<int32_t>(std::max_element(want.begin(), want.end()) - want.begin());
    double rms = 0;
    for (double v : want) rms += v * v;
    rms = std::sqrt(rms / static_cast<double>(want.size()));
    if (hearth == best) {
      ++same;
    } else {
      EXPECT_LT(want[best] - want[hearth], 3.0 * c.tolerance * rms)
          << "step " << step << ": Hearth's token " << hearth << " is no near-tie of the reference's " << best;
    }
    tokens.push_back(hearth);
    logits = session.decode(std::span<const int32_t>(&tokens.back(), 1));
  }
  EXPECT_GE(same, kSteps - 2) << "greedy steps equal to the reference's argmax";
  std::printf("%s: %d of %d greedy tokens are the reference's argmax\n", case_name({c, 0}).c_str(), same, kSteps);
  std::filesystem::remove(path);
}

INSTANTIATE_TEST_SUITE_P(Types, SyntheticGreedy,
                         testing::Values(Case{"llama", DType::kQ8_0, 0.03}, Case{"llama", DType::kQ4_0, 0.05},
                                         Case{"llama", DType::kQ4_K, 0.05}, Case{"llama", DType::kF16, 0.01}),
                         case_name);

INSTANTIATE_TEST_SUITE_P(
    EveryWeightType, SyntheticModel,
    testing::Values(Case{"llama", DType::kF32, 0.01}, Case{"llama", DType::kF16, 0.01},
                    Case{"llama", DType::kBF16, 0.03}, Case{"llama", DType::kQ8_0, 0.03},
                    Case{"llama", DType::kQ4_0, 0.05}, Case{"llama", DType::kQ4_1, 0.05},
                    Case{"llama", DType::kQ5_0, 0.05}, Case{"llama", DType::kQ4_K, 0.05},
                    Case{"llama", DType::kQ5_K, 0.05}, Case{"llama", DType::kQ6_K, 0.05},
                    Case{"qwen2", DType::kQ8_0, 0.03}, Case{"gemma3", DType::kQ8_0, 0.03},
                    Case{"gemma3", DType::kF32, 0.01}, Case{"llama", DType::kQ8_0, 0.03, true}),
    case_name);

}  // namespace
}  // namespace hearth
