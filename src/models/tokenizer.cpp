#include "models/tokenizer.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <initializer_list>
#include <unordered_map>

#include "core/error.h"
#include "formats/gguf.h"
#include "models/unicode.h"

namespace hearth::models {
namespace {

constexpr std::string_view kSpaceMarker = "\xE2\x96\x81";  // U+2581, SentencePiece's space

bool is_special_type(TokenType t) {
  return t == TokenType::kControl || t == TokenType::kUserDefined || t == TokenType::kUnknown;
}

// Texts llama.cpp recognises tokens by when the vocabulary does not name them.
// End of turn (the first found becomes eot):
constexpr std::string_view kEotTexts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
    "<EOT>", "_<EOT>", "<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>", "<end_of_utterance>",
};
// Every token with one of these texts ends generation:
constexpr std::string_view kEndOfGenerationTexts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>",
    "<EOT>", "_<EOT>", "<|end_of_text|>", "<end_of_utterance>",
};
constexpr std::string_view kEomTexts[] = {"<|eom_id|>"};
constexpr std::string_view kFimPreTexts[] = {"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<PRE>",
                                             "\xE2\x96\x81<PRE>"};
constexpr std::string_view kFimSufTexts[] = {"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<SUF>",
                                             "\xE2\x96\x81<SUF>"};
constexpr std::string_view kFimMidTexts[] = {"<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<MID>",
                                             "\xE2\x96\x81<MID>"};
constexpr std::string_view kFimPadTexts[] = {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>"};
constexpr std::string_view kFimRepTexts[] = {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"};
constexpr std::string_view kFimSepTexts[] = {"<|file_sep|>"};

struct PreInfo {
  std::string_view name;
  PreTokenizer pre;
};
// llama.cpp's names, plus "gpt2" (which it does not know) as another spelling of "gpt-2".
constexpr PreInfo kPreNames[] = {
    {"default", PreTokenizer::kDefault},    {"gpt-2", PreTokenizer::kGpt2},      {"gpt2", PreTokenizer::kGpt2},
    {"phi-2", PreTokenizer::kGpt2},         {"llama3", PreTokenizer::kLlama3},   {"llama-v3", PreTokenizer::kLlama3},
    {"llama-bpe", PreTokenizer::kLlama3},   {"qwen2", PreTokenizer::kQwen2},     {"smollm", PreTokenizer::kSmollm},
    {"deepseek-r1-qwen", PreTokenizer::kQwen2},
};

std::string known_pre_names() {
  std::string s;
  for (const auto& p : kPreNames) s += (s.empty() ? "" : ", ") + std::string(p.name);
  return s;
}

}  // namespace

std::optional<PreTokenizer> pre_tokenizer_from_name(std::string_view name) {
  if (name.empty()) return PreTokenizer::kDefault;
  for (const auto& p : kPreNames) {
    if (p.name == name) return p.pre;
  }
  return std::nullopt;
}

// Every text of a control, user-defined or unknown token, in a byte trie, so one
// pass over the input finds which of them occur at all; only those go through
// llama.cpp's one-token-at-a-time cutting (Gemma has over 6000 such tokens).
struct Tokenizer::SpecialTrie {
  std::array<int32_t, 256> root_children;
  std::unordered_map<uint64_t, int32_t> edges;  // (node << 8 | byte) -> child
  std::vector<bool> terminal;
  std::vector<int32_t> node_of;  // per entry of special_tokens_; -1 for an empty text

  SpecialTrie() { root_children.fill(-1); terminal.push_back(false); }

  int32_t child(int32_t node, uint8_t byte) const {
    if (node == 0) return root_children[byte];
    const auto it = edges.find((static_cast<uint64_t>(node) << 8) | byte);
    return it == edges.end() ? -1 : it->second;
  }

  int32_t insert(std::string_view text) {
    int32_t node = 0;
    for (const char c : text) {
      const auto b = static_cast<uint8_t>(c);
      int32_t next = child(node, b);
      if (next < 0) {
        next = static_cast<int32_t>(terminal.size());
        terminal.push_back(false);
        if (node == 0) {
          root_children[b] = next;
        } else {
          edges.emplace((static_cast<uint64_t>(node) << 8) | b, next);
        }
      }
      node = next;
    }
    terminal[node] = true;
    return node;
  }

  // Marks the node of every trie text that occurs somewhere in text.
  std::vector<char> occurring(std::string_view text) const {
    std::vector<char> seen(terminal.size(), 0);
    for (size_t i = 0; i < text.size(); ++i) {
      int32_t node = root_children[static_cast<uint8_t>(text[i])];
      for (size_t j = i + 1; node >= 0; ++j) {
        if (terminal[node]) seen[node] = 1;
        if (j == text.size()) break;
        node = child(node, static_cast<uint8_t>(text[j]));
      }
    }
    return seen;
  }
};

Tokenizer::Tokenizer() = default;
Tokenizer::~Tokenizer() = default;

VocabSpec Tokenizer::read_spec(const formats::GgufFile& file) {
  VocabSpec spec;
  spec.model = file.get_string("tokenizer.ggml.model");
  spec.pre = file.get_string_or("tokenizer.ggml.pre", "");
  for (std::string_view t : file.get_string_array("tokenizer.ggml.tokens")) spec.tokens.emplace_back(t);
  if (file.has("tokenizer.ggml.scores")) spec.scores = file.get_float_array("tokenizer.ggml.scores");
  if (file.has("tokenizer.ggml.token_type")) {
    const std::vector<int64_t> types = file.get_int_array("tokenizer.ggml.token_type");
    spec.token_types.reserve(types.size());
    for (int64_t t : types) spec.token_types.push_back(t < 0 || t > 6 ? 0 : static_cast<int32_t>(t));
  }
  if (file.has("tokenizer.ggml.merges")) {
    for (std::string_view m : file.get_string_array("tokenizer.ggml.merges")) spec.merges.emplace_back(m);
  }
  auto read_id = [&](const char* key, std::optional<int64_t>& id) {
    const formats::GgufValue* v = file.find(key);
    // A negative id (some converters write -1) means "none", as the default does.
    if (v != nullptr && v->is_integer() && v->as_int() >= 0) id = v->as_int();
  };
  read_id("tokenizer.ggml.bos_token_id", spec.bos_id);
  read_id("tokenizer.ggml.eos_token_id", spec.eos_id);
  read_id("tokenizer.ggml.eot_token_id", spec.eot_id);
  read_id("tokenizer.ggml.eom_token_id", spec.eom_id);
  read_id("tokenizer.ggml.unknown_token_id", spec.unk_id);
  read_id("tokenizer.ggml.seperator_token_id", spec.sep_id);  // sic: the key's spelling
  read_id("tokenizer.ggml.padding_token_id", spec.pad_id);
  read_id("tokenizer.ggml.fim_pre_token_id", spec.fim_pre_id);
  read_id("tokenizer.ggml.fim_suf_token_id", spec.fim_suf_id);
  read_id("tokenizer.ggml.fim_mid_token_id", spec.fim_mid_id);
  read_id("tokenizer.ggml.fim_pad_token_id", spec.fim_pad_id);
  read_id("tokenizer.ggml.fim_rep_token_id", spec.fim_rep_id);
  read_id("tokenizer.ggml.fim_sep_token_id", spec.fim_sep_id);
  auto read_flag = [&](const char* key, std::optional<bool>& flag) {
    if (file.has(key)) flag = file.get_bool_or(key, false);
  };
  read_flag("tokenizer.ggml.add_bos_token", spec.add_bos);
  read_flag("tokenizer.ggml.add_eos_token", spec.add_eos);
  read_flag("tokenizer.ggml.add_space_prefix", spec.add_space_prefix);
  return spec;
}

std::unique_ptr<Tokenizer> Tokenizer::from_gguf(const formats::GgufFile& file) {
  try {
    return from_spec(read_spec(file));
  } catch (const Error& e) {
    const std::string msg = e.what();
    if (msg.find(file.path()) != std::string::npos) throw;
    throw Error(e.code(), file.path() + ": " + msg);
  }
}

void Tokenizer::StringIndex::reserve(size_t n) {
  size_t capacity = 16;
  while (capacity < 2 * n) capacity *= 2;  // at most half full: short probe runs
  slots_.assign(capacity, Slot{0, -1});
  mask_ = capacity - 1;
  keys_.reserve(n);
  values_.reserve(n);
}

uint32_t Tokenizer::StringIndex::hash(std::string_view key) {
  // FNV-1a, finished with a multiply-xorshift so the low bits (the slot) mix well.
  uint64_t h = 1469598103934665603ull;
  for (const char c : key) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ull;
  h ^= h >> 29;
  h *= 0xBF58476D1CE4E5B9ull;
  h ^= h >> 32;
  return static_cast<uint32_t>(h);
}

void Tokenizer::StringIndex::insert(std::string_view key, int32_t value, bool overwrite) {
  if (slots_.empty() || 2 * (keys_.size() + 1) > slots_.size()) {
    // Grow and re-place every key.
    std::vector<std::string_view> keys = std::move(keys_);
    std::vector<int32_t> values = std::move(values_);
    reserve(std::max<size_t>(16, 2 * keys.size() + 2));
    for (size_t i = 0; i < keys.size(); ++i) insert(keys[i], values[i], false);
  }
  const uint32_t h = hash(key);
  for (size_t i = h & mask_;; i = (i + 1) & mask_) {
    Slot& slot = slots_[i];
    if (slot.index < 0) {
      slot = {h, static_cast<int32_t>(keys_.size())};
      keys_.push_back(key);
      values_.push_back(value);
      return;
    }
    if (slot.hash == h && keys_[slot.index] == key) {
      if (overwrite) values_[slot.index] = value;
      return;
    }
  }
}

int32_t Tokenizer::StringIndex::find(std::string_view key) const {
  if (slots_.empty()) return -1;
  const uint32_t h = hash(key);
  for (size_t i = h & mask_;; i = (i + 1) & mask_) {
    const Slot& slot = slots_[i];
    if (slot.index < 0) return -1;
    if (slot.hash == h && keys_[slot.index] == key) return values_[slot.index];
  }
}

std::unique_ptr<Tokenizer> Tokenizer::from_spec(VocabSpec spec) {
  std::unique_ptr<Tokenizer> tok(new Tokenizer());
  const size_t n = spec.tokens.size();
  if (spec.model == "gpt2") {
    tok->bpe_ = true;
  } else if (spec.model == "llama") {
    tok->bpe_ = false;
  } else {
    throw Error(ErrorCode::kUnsupported, "tokenizer model '" + spec.model +
                                             "' (tokenizer.ggml.model) is not supported; known: gpt2, llama");
  }
  if (n == 0) throw Error(ErrorCode::kFormat, "tokenizer.ggml.tokens is empty");
  if (n > static_cast<size_t>(INT32_MAX)) throw Error(ErrorCode::kFormat, "tokenizer.ggml.tokens is too long");
  if (!spec.scores.empty() && spec.scores.size() != n) {
    throw Error(ErrorCode::kFormat, "tokenizer.ggml.scores has " + std::to_string(spec.scores.size()) +
                                        " entries for " + std::to_string(n) + " tokens");
  }
  if (!spec.token_types.empty() && spec.token_types.size() != n) {
    throw Error(ErrorCode::kFormat, "tokenizer.ggml.token_type has " + std::to_string(spec.token_types.size()) +
                                        " entries for " + std::to_string(n) + " tokens");
  }

  tok->tokens_.resize(n);
  for (size_t i = 0; i < n; ++i) {
    Token& t = tok->tokens_[i];
    t.text = std::move(spec.tokens[i]);
    t.score = spec.scores.empty() ? 0.0f : spec.scores[i];
    const int32_t type = spec.token_types.empty() ? 1 : spec.token_types[i];
    t.type = type >= 0 && type <= 6 ? static_cast<TokenType>(type) : TokenType::kUndefined;
  }
  tok->ids_.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    // A repeated text maps to its last id, as in llama.cpp.
    tok->ids_.insert(tok->tokens_[i].text, static_cast<int32_t>(i), true);
  }

  // Defaults of the model type, then what the vocabulary says.
  int64_t bos, eos, unk = -1;
  if (tok->bpe_) {
    bos = eos = 11;
    tok->build_bpe(spec);
  } else {
    bos = 1, eos = 2, unk = 0;
    tok->build_spm(spec);
  }
  auto pick = [n](const std::optional<int64_t>& given, int64_t fallback) -> int32_t {
    const int64_t id = given && *given >= 0 && *given < static_cast<int64_t>(n) ? *given : fallback;
    return id >= 0 && id < static_cast<int64_t>(n) ? static_cast<int32_t>(id) : -1;
  };
  tok->bos_id_ = pick(spec.bos_id, bos);
  tok->eos_id_ = pick(spec.eos_id, eos);
  tok->unk_id_ = pick(spec.unk_id, unk);
  tok->eot_id_ = pick(spec.eot_id, -1);
  tok->eom_id_ = pick(spec.eom_id, -1);
  if (spec.add_bos) tok->add_bos_ = *spec.add_bos;
  if (spec.add_eos) tok->add_eos_ = *spec.add_eos;
  if (spec.add_space_prefix) tok->add_space_prefix_ = *spec.add_space_prefix;

  // Recognise eot, eom and fill-in-the-middle tokens by text when the vocabulary
  // does not name them; what is recognised becomes a control token. (llama.cpp
  // takes the first match in hash order; the lowest id is the stable choice.)
  auto make_control = [&](int32_t id) {
    if (id >= 0) tok->tokens_[id].type = TokenType::kControl;
  };
  auto detect = [&](int32_t& id, auto&& texts) {
    if (id >= 0) return;
    int32_t best = -1;
    for (std::string_view t : texts) {
      const int32_t found = tok->lookup(t);
      if (found >= 0 && (best < 0 || found < best)) best = found;
    }
    id = best;
    make_control(id);
  };
  detect(tok->eot_id_, kEotTexts);
  detect(tok->eom_id_, kEomTexts);
  int32_t fim_pre = pick(spec.fim_pre_id, -1), fim_suf = pick(spec.fim_suf_id, -1);
  int32_t fim_mid = pick(spec.fim_mid_id, -1), fim_pad = pick(spec.fim_pad_id, -1);
  int32_t fim_rep = pick(spec.fim_rep_id, -1), fim_sep = pick(spec.fim_sep_id, -1);
  detect(fim_pre, kFimPreTexts);
  detect(fim_suf, kFimSufTexts);
  detect(fim_mid, kFimMidTexts);
  detect(fim_pad, kFimPadTexts);
  detect(fim_rep, kFimRepTexts);
  detect(fim_sep, kFimSepTexts);

  tok->end_of_generation_.assign(n, false);
  for (int32_t id : {tok->eos_id_, tok->eot_id_, tok->eom_id_, fim_pad, fim_rep, fim_sep}) {
    if (id >= 0) tok->end_of_generation_[id] = true;
  }
  // By text: llama.cpp walks its text -> id map, so a repeated text counts once, for its last id.
  for (std::string_view t : kEndOfGenerationTexts) {
    const int32_t id = tok->lookup(t);
    if (id >= 0) {
      tok->end_of_generation_[id] = true;
      tok->tokens_[id].type = TokenType::kControl;
    }
  }

  // The order llama.cpp cuts special tokens out of text in: std::sort by text
  // length, longest first, over ids in ascending order. The same call on the same
  // input also reproduces its order among texts of equal length.
  for (size_t i = 0; i < n; ++i) {
    if (is_special_type(tok->tokens_[i].type)) tok->special_tokens_.push_back(static_cast<int32_t>(i));
  }
  const auto& toks = tok->tokens_;
  std::sort(tok->special_tokens_.begin(), tok->special_tokens_.end(),
            [&toks](int32_t a, int32_t b) { return toks[a].text.size() > toks[b].text.size(); });
  tok->special_trie_ = std::make_unique<SpecialTrie>();
  for (int32_t id : tok->special_tokens_) {
    const std::string& text = tok->tokens_[id].text;
    // An empty text would match everywhere and never advance: llama.cpp would loop.
    tok->special_trie_->node_of.push_back(text.empty() ? -1 : tok->special_trie_->insert(text));
  }
  return tok;
}

void Tokenizer::build_bpe(VocabSpec& spec) {
  if (spec.merges.empty()) throw Error(ErrorCode::kFormat, "a gpt2 tokenizer needs tokenizer.ggml.merges");
  const std::optional<PreTokenizer> pre = pre_tokenizer_from_name(spec.pre);
  if (!pre) {
    throw Error(ErrorCode::kUnsupported,
                "unknown pre-tokenizer '" + spec.pre + "' (tokenizer.ggml.pre); known: " + known_pre_names());
  }
  pre_ = *pre;
  clean_spaces_ = true;
  switch (pre_) {
    case PreTokenizer::kLlama3:
      ignore_merges_ = true;
      add_bos_ = true;
      break;
    case PreTokenizer::kQwen2:
    case PreTokenizer::kSmollm:
      clean_spaces_ = false;
      break;
    default:
      break;
  }
  merges_ = std::move(spec.merges);
  merge_ranks_.reserve(merges_.size());
  for (size_t i = 0; i < merges_.size(); ++i) {
    const std::string& m = merges_[i];
    // The split is at the first space after the first byte; a line without one
    // can never match and a repeated line keeps its first rank.
    if (m.size() < 2 || m.find(' ', 1) == std::string::npos) continue;
    merge_ranks_.insert(m, static_cast<int32_t>(i), false);
  }
}

void Tokenizer::build_spm(const VocabSpec& spec) {
  add_bos_ = true;
  add_space_prefix_ = true;
  byte_tokens_.assign(256, -1);
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (int b = 0; b < 256; ++b) {
    const char name[7] = {'<', '0', 'x', kHex[b >> 4], kHex[b & 15], '>', 0};
    int32_t id = lookup(name);
    if (id < 0) id = lookup(std::string(1, static_cast<char>(b)));
    byte_tokens_[b] = id;
  }
}

int32_t Tokenizer::lookup(std::string_view text) const { return ids_.find(text); }

void Tokenizer::check_id(int32_t id, const char* what) const {
  if (id < 0 || id >= n_vocab()) {
    throw Error(ErrorCode::kInvalidArgument,
                std::string(what) + ": token id " + std::to_string(id) + " is outside the vocabulary of " +
                    std::to_string(n_vocab()) + " tokens");
  }
}

std::optional<int32_t> Tokenizer::find(std::string_view token_text) const {
  const int32_t id = lookup(token_text);
  if (id < 0) return std::nullopt;
  return id;
}

const std::string& Tokenizer::token_text(int32_t id) const {
  check_id(id, "token_text");
  return tokens_[id].text;
}

TokenType Tokenizer::token_type(int32_t id) const {
  check_id(id, "token_type");
  return tokens_[id].type;
}

float Tokenizer::token_score(int32_t id) const {
  check_id(id, "token_score");
  return tokens_[id].score;
}

bool Tokenizer::is_end_of_generation(int32_t id) const {
  return id >= 0 && id < n_vocab() && end_of_generation_[id];
}

std::vector<Tokenizer::Fragment> Tokenizer::partition_special(std::string_view text, bool parse_special) const {
  std::vector<Fragment> frags;
  if (text.empty()) return frags;
  frags.push_back({-1, 0, text.size()});
  if (special_tokens_.empty()) return frags;

  const std::vector<char> seen = special_trie_->occurring(text);
  std::vector<Fragment> next;
  for (size_t k = 0; k < special_tokens_.size(); ++k) {
    const int32_t node = special_trie_->node_of[k];
    if (node < 0 || !seen[node]) continue;
    const int32_t id = special_tokens_[k];
    const Token& tok = tokens_[id];
    // Without parse_special only user-defined tokens are cut out.
    if (!parse_special && tok.type != TokenType::kUserDefined) continue;
    const std::string_view needle = tok.text;
    next.clear();
    for (const Fragment& f : frags) {
      if (f.token >= 0) {
        next.push_back(f);
        continue;
      }
      const size_t end = f.offset + f.length;
      const std::string_view window = text.substr(0, end);
      size_t pos = f.offset;
      for (size_t m; (m = window.find(needle, pos)) != std::string_view::npos; pos = m + needle.size()) {
        if (m > pos) next.push_back({-1, pos, m - pos});
        next.push_back({id, m, needle.size()});
      }
      if (pos < end) next.push_back({-1, pos, end - pos});
    }
    frags.swap(next);
  }
  return frags;
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special, bool parse_special) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 4);
  const std::vector<Fragment> frags = partition_special(text, parse_special);
  if (add_special && add_bos_ && bos_id_ >= 0) out.push_back(bos_id_);
  if (bpe_) {
    for (const Fragment& f : frags) {
      if (f.token >= 0) {
        out.push_back(f.token);
      } else {
        encode_bpe(text.substr(f.offset, f.length), out);
      }
    }
  } else {
    // SentencePiece marks word starts with U+2581; a fragment right after a
    // special token (or at the start) gets the leading space the model expects.
    bool prev_special = true;
    std::string buf;
    for (const Fragment& f : frags) {
      if (f.token >= 0) {
        out.push_back(f.token);
        prev_special = true;
        continue;
      }
      buf.clear();
      if (add_space_prefix_ && prev_special) buf += kSpaceMarker;
      for (const char c : text.substr(f.offset, f.length)) {
        if (c == ' ') {
          buf += kSpaceMarker;
        } else {
          buf += c;
        }
      }
      encode_spm(buf, out);
      prev_special = false;
    }
  }
  if (add_special && add_eos_ && eos_id_ >= 0) out.push_back(eos_id_);
  return out;
}

std::string Tokenizer::token_to_piece(int32_t id) const {
  check_id(id, "token_to_piece");
  const Token& tok = tokens_[id];
  if (is_special_type(tok.type)) return tok.text;
  if (bpe_) {
    if (tok.type != TokenType::kNormal) return {};
    std::string out;
    out.reserve(tok.text.size());
    for (size_t pos = 0; pos < tok.text.size();) {
      const uint32_t cp = unicode::decode_next(tok.text, pos);
      const int b = unicode::text_to_byte(cp);
      if (b >= 0) {
        out += static_cast<char>(b);
        continue;
      }
      // A character outside the byte map: llama.cpp writes this marker.
      std::string utf8;
      unicode::append_utf8(utf8, cp);
      out += "[UNK_BYTE_0x";
      for (const char c : utf8) {
        char hex[3];
        std::snprintf(hex, sizeof hex, "%02x", static_cast<unsigned>(static_cast<uint8_t>(c)));
        out += hex;
      }
      out += tok.text + "]";
    }
    return out;
  }
  if (tok.type == TokenType::kNormal) {
    std::string out;
    out.reserve(tok.text.size());
    for (size_t i = 0; i < tok.text.size();) {
      if (tok.text.compare(i, kSpaceMarker.size(), kSpaceMarker) == 0) {
        out += ' ';
        i += kSpaceMarker.size();
      } else {
        out += tok.text[i++];
      }
    }
    return out;
  }
  if (tok.type == TokenType::kByte) {
    // "<0xNN>"
    unsigned value = 0;
    if (tok.text.size() >= 5) {
      for (size_t i = 3; i < 5; ++i) {
        const char c = tok.text[i];
        value = value * 16 + (c >= '0' && c <= '9'   ? c - '0'
                              : c >= 'a' && c <= 'f' ? c - 'a' + 10
                              : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                     : 0);
      }
    }
    return std::string(1, static_cast<char>(value));
  }
  return {};
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids) const {
  std::string out;
  bool strip_space = add_space_prefix_;
  for (int32_t id : ids) {
    std::string piece = token_to_piece(id);
    // The space SentencePiece put before the first word is not part of the text.
    if (strip_space && !piece.empty() && piece[0] == ' ') piece.erase(0, 1);
    strip_space = false;
    out += piece;
  }
  if (clean_spaces_) clean_up_spaces(out);
  return out;
}

// Hugging Face's clean_up_tokenization_spaces as llama.cpp does it: no space
// before ? ! . , nor before 's 'm 're 've, and " ' " becomes "'" (a space that
// was dropped after a quote no longer counts as the space before what follows).
void Tokenizer::clean_up_spaces(std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (i > 0 && text[i - 1] == ' ' && (c == '?' || c == '!' || c == '.' || c == ',')) out.pop_back();
    out += c;
  }
  text.swap(out);
  out.clear();
  bool prev_space = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\'' && prev_space && i + 1 < text.size()) {
      const char c1 = text[i + 1];
      if (c1 == ' ') {
        out.pop_back();
        out += c;
        ++i;  // the space after the quote goes too
        prev_space = false;
        continue;
      }
      const bool contraction = c1 == 's' || c1 == 'm' ||
                               (i + 2 < text.size() && ((c1 == 'r' || c1 == 'v') && text[i + 2] == 'e'));
      if (contraction) out.pop_back();
    }
    out += c;
    prev_space = c == ' ';
  }
  text.swap(out);
}

}  // namespace hearth::models
