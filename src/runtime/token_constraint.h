// TokenConstraint: which tokens a model may sample next so that its output
// stays within a grammar; TokenVocabulary: the per-model precomputation (each
// token's bytes, a trie over them) that every constrained sequence shares.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "models/tokenizer.h"
#include "runtime/grammar.h"

namespace hearth::runtime {

// Built once per model (15-50 ms for SmolLM2's 49152 tokens on one core),
// immutable, shareable between threads. Text tokens (normal, byte and user-defined ones with bytes)
// can be constrained; end-of-generation tokens end a complete match; other
// control, unknown and unused tokens are never allowed under a constraint.
class TokenVocabulary {
 public:
  explicit TokenVocabulary(const models::Tokenizer& tokenizer);

  enum class Kind : uint8_t { kText, kEnd, kNever };
  int32_t n_vocab() const { return static_cast<int32_t>(kinds_.size()); }
  Kind kind(int32_t id) const { return kinds_[id]; }
  // The bytes a text token stands for (empty for the others).
  std::string_view bytes(int32_t id) const {
    return {bytes_.data() + offsets_[id], static_cast<size_t>(offsets_[id + 1] - offsets_[id])};
  }
  const std::vector<int32_t>& end_tokens() const { return end_tokens_; }
  size_t trie_nodes() const { return nodes_.size(); }
  double build_ms() const { return build_ms_; }

 private:
  friend class TokenConstraint;
  // The trie in preorder, so walking it is one pass over an array: a node's
  // subtree ends where `skip` points.
  struct Node {
    uint32_t skip;
    uint32_t tokens_begin;  // into node_tokens_: tokens whose bytes end here
    uint32_t tokens_end;
    uint16_t depth;         // bytes from the root (1 for the first byte)
    uint8_t byte;
  };
  std::vector<Kind> kinds_;
  std::string bytes_;
  std::vector<uint32_t> offsets_;
  std::vector<Node> nodes_;
  std::vector<int32_t> node_tokens_;
  std::vector<int32_t> end_tokens_;
  double build_ms_ = 0;
};

// The constraint of one sequence: its matcher state over the grammar. Not
// thread-safe (allows() and fill_mask() use the matcher speculatively and
// restore it); cheap to copy.
class TokenConstraint {
 public:
  TokenConstraint(std::shared_ptr<const Grammar> grammar, std::shared_ptr<const TokenVocabulary> vocabulary,
                  const MatcherLimits& limits = {});

  // The token may come next: its bytes extend the accepted prefix, or it ends
  // generation and the input is complete. Nothing after an end token.
  bool allows(int32_t token) const;
  // Advances by the token; throws Error(kInvalidArgument) when not allowed.
  void accept(int32_t token);
  // Appends bytes written outside the model (a prefilled prefix); throws
  // Error(kInvalidArgument) when the grammar does not allow them.
  void accept_text(std::string_view text);

  bool complete() const { return !ended_ && matcher_.complete(); }
  // Only an end token may come (or nothing at all, once one was accepted).
  bool must_end() const { return ended_ || matcher_.must_end(); }
  bool ended() const { return ended_; }
  // The fewest bytes that would complete the match: a generator near its
  // token limit can use it to stop or steer in time.
  uint32_t min_bytes_to_complete() const { return matcher_.min_bytes_to_complete(); }

  // allowed[id] = 1 for each allowed token, 0 otherwise; allowed may be longer
  // than the vocabulary (padded logits), the extra entries get 0. One walk of
  // the token trie: shared prefixes are matched once and a dead prefix prunes
  // its whole subtree.
  void fill_mask(std::span<uint8_t> allowed) const;
  std::vector<int32_t> allowed_tokens() const;

  const TokenVocabulary& vocabulary() const { return *vocab_; }
  const GrammarMatcher& matcher() const { return matcher_; }

 private:
  std::shared_ptr<const TokenVocabulary> vocab_;
  mutable GrammarMatcher matcher_;
  bool ended_ = false;
};

}  // namespace hearth::runtime
