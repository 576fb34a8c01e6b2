// Tokenizer: text <-> token ids for a GGUF vocabulary, giving exactly the ids and
// bytes llama.cpp gives: byte-level BPE ("gpt2") and SentencePiece-style ("llama").
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::formats {
class GgufFile;
}

namespace hearth::models {

// Token types, numbered as tokenizer.ggml.token_type numbers them.
enum class TokenType : int32_t {
  kUndefined = 0,
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

// How a BPE vocabulary cuts text into words before merging (tokenizer.ggml.pre).
enum class PreTokenizer {
  kDefault,  // "default" (and a missing key)
  kGpt2,     // "gpt-2" (also "gpt2")
  kLlama3,   // "llama3", "llama-v3", "llama-bpe"
  kQwen2,    // "qwen2", "deepseek-r1-qwen"
  kSmollm,   // "smollm": every digit alone, then the GPT-2 split
};
// nullopt for a name this build does not know.
std::optional<PreTokenizer> pre_tokenizer_from_name(std::string_view name);

// The words BPE merges within, in order, as UTF-8 (before the byte-level map);
// bytes that are not UTF-8 come back as U+FFFD, as in llama.cpp.
std::vector<std::string> split_words(PreTokenizer pre, std::string_view text);

// A vocabulary as the tokenizer.ggml.* keys describe it. from_gguf reads one from
// a file; tests build small ones in memory. Unset fields take llama.cpp's default
// for the model type.
struct VocabSpec {
  std::string model;                 // "gpt2" (byte-level BPE) or "llama" (SentencePiece)
  std::string pre;                   // pre-tokenizer name; empty means "default"
  std::vector<std::string> tokens;
  std::vector<float> scores;         // SentencePiece merge priority; empty means all 0
  std::vector<int32_t> token_types;  // TokenType numbers; empty means all normal
  std::vector<std::string> merges;   // "left right", highest priority first (gpt2 only)
  std::optional<int64_t> bos_id, eos_id, eot_id, eom_id, unk_id, sep_id, pad_id;
  std::optional<int64_t> fim_pre_id, fim_suf_id, fim_mid_id, fim_pad_id, fim_rep_id, fim_sep_id;
  std::optional<bool> add_bos, add_eos, add_space_prefix;
};

class Tokenizer {
 public:
  // Reads the tokenizer.ggml.* keys; throws hearth::Error naming the file and the
  // problem (missing keys, an unknown model or pre-tokenizer, inconsistent arrays).
  static std::unique_ptr<Tokenizer> from_gguf(const formats::GgufFile& file);
  static VocabSpec read_spec(const formats::GgufFile& file);
  static std::unique_ptr<Tokenizer> from_spec(VocabSpec spec);
  ~Tokenizer();
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  // llama_tokenize: add_special adds BOS/EOS as the vocabulary's add_bos/add_eos
  // say; parse_special turns control-token texts inside text into those tokens
  // (user-defined tokens are always matched, as in llama.cpp). Any bytes are
  // accepted; invalid UTF-8 never throws.
  std::vector<int32_t> encode(std::string_view text, bool add_special, bool parse_special) const;
  // The bytes a token stands for; control, unknown and user-defined tokens give
  // their text, unused ones nothing. Throws Error(kInvalidArgument) for a bad id.
  std::string token_to_piece(int32_t id) const;
  // llama_detokenize(remove_special=false, unparse_special=true): the pieces
  // joined, with the vocabulary's leading-space and clean-up rules.
  std::string decode(const std::vector<int32_t>& ids) const;

  int32_t n_vocab() const { return static_cast<int32_t>(tokens_.size()); }
  int32_t bos_id() const { return bos_id_; }  // -1 when absent
  int32_t eos_id() const { return eos_id_; }
  int32_t eot_id() const { return eot_id_; }
  int32_t unk_id() const { return unk_id_; }
  bool add_bos() const { return add_bos_; }
  bool add_eos() const { return add_eos_; }
  bool is_bpe() const { return bpe_; }
  PreTokenizer pre_tokenizer() const { return pre_; }
  // eos, eot, eom, and the tokens llama.cpp stops on by their text
  // (<|im_end|>, <end_of_turn>, <|eot_id|>, <|endoftext|>, ...).
  bool is_end_of_generation(int32_t id) const;
  std::optional<int32_t> find(std::string_view token_text) const;
  const std::string& token_text(int32_t id) const;  // throws for a bad id
  // The type after llama.cpp's fix-ups (end-of-generation texts become control).
  TokenType token_type(int32_t id) const;
  float token_score(int32_t id) const;

 private:
  struct Token {
    std::string text;
    float score = 0;
    TokenType type = TokenType::kNormal;
  };
  // A piece of the input: raw text (token < 0) or an already-recognised token.
  struct Fragment {
    int32_t token;
    size_t offset;
    size_t length;
  };
  struct SpecialTrie;

  // Open addressing from strings held elsewhere (views that outlive the index)
  // to ids: one probe sequence over 8-byte slots, a string compare only on a
  // hash match. The 262k-token Gemma vocabulary is looked up once per bigram.
  class StringIndex {
   public:
    void reserve(size_t n);
    // Maps key to value; an existing key keeps its value unless overwrite.
    void insert(std::string_view key, int32_t value, bool overwrite);
    int32_t find(std::string_view key) const;  // -1 when absent
    static uint32_t hash(std::string_view key);

   private:
    struct Slot {
      uint32_t hash;
      int32_t index;  // into keys_/values_, -1 when empty
    };
    std::vector<Slot> slots_;
    std::vector<std::string_view> keys_;
    std::vector<int32_t> values_;
    size_t mask_ = 0;
  };

  Tokenizer();
  void check_id(int32_t id, const char* what) const;
  int32_t lookup(std::string_view text) const;  // -1 when absent
  std::vector<Fragment> partition_special(std::string_view text, bool parse_special) const;
  void encode_bpe(std::string_view text, std::vector<int32_t>& out) const;  // tokenizer_bpe.cpp
  void encode_spm(std::string_view text, std::vector<int32_t>& out) const;  // tokenizer_spm.cpp
  int merge_rank(std::string_view left, std::string_view right, std::string& scratch) const;
  void build_bpe(VocabSpec& spec);
  void build_spm(const VocabSpec& spec);
  static void clean_up_spaces(std::string& text);

  bool bpe_ = true;
  PreTokenizer pre_ = PreTokenizer::kDefault;
  std::vector<Token> tokens_;
  StringIndex ids_;  // keys point into tokens_
  // BPE: rank of each merge, keyed by its "left right" line (owned by merges_).
  std::vector<std::string> merges_;
  StringIndex merge_ranks_;
  // SentencePiece: the token for each byte value (<0xNN>), -1 when none.
  std::vector<int32_t> byte_tokens_;
  // Control, user-defined and unknown tokens, longest text first: the order in
  // which llama.cpp cuts them out of the text.
  std::vector<int32_t> special_tokens_;
  std::unique_ptr<SpecialTrie> special_trie_;
  std::vector<bool> end_of_generation_;

  int32_t bos_id_ = -1, eos_id_ = -1, eot_id_ = -1, eom_id_ = -1, unk_id_ = -1;
  bool add_bos_ = false, add_eos_ = false, add_space_prefix_ = false;
  bool ignore_merges_ = false;  // llama3: a word that is a token is not merged
  bool clean_spaces_ = false;   // decode drops spaces before punctuation and contractions
};

}  // namespace hearth::models
