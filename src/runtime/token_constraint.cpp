#include "runtime/token_constraint.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <limits>

#include "core/error.h"

namespace hearth::runtime {
namespace {

std::string printable(std::string_view bytes) {
  std::string out;
  for (const char c : bytes) {
    const auto b = static_cast<uint8_t>(c);
    if (b >= 0x20 && b < 0x7f && b != '\\') {
      out += c;
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", b);
      out += hex;
    }
  }
  return out;
}

}  // namespace

TokenVocabulary::TokenVocabulary(const models::Tokenizer& tokenizer) {
  const auto t0 = std::chrono::steady_clock::now();
  const int32_t n = tokenizer.n_vocab();
  kinds_.assign(static_cast<size_t>(n), Kind::kNever);
  offsets_.reserve(static_cast<size_t>(n) + 1);
  offsets_.push_back(0);
  std::vector<int32_t> text_ids;
  text_ids.reserve(static_cast<size_t>(n));
  for (int32_t id = 0; id < n; ++id) {
    if (tokenizer.is_end_of_generation(id)) {
      kinds_[id] = Kind::kEnd;
      end_tokens_.push_back(id);
    } else {
      const models::TokenType type = tokenizer.token_type(id);
      if (type != models::TokenType::kControl && type != models::TokenType::kUnknown &&
          type != models::TokenType::kUnused) {
        const std::string piece = tokenizer.token_to_piece(id);
        if (!piece.empty() && piece.size() <= std::numeric_limits<uint16_t>::max()) {
          kinds_[id] = Kind::kText;
          bytes_ += piece;
          text_ids.push_back(id);
        }
      }
    }
    offsets_.push_back(static_cast<uint32_t>(bytes_.size()));
  }

  std::sort(text_ids.begin(), text_ids.end(), [&](int32_t a, int32_t b) { return bytes(a) < bytes(b); });
  // Sorted strings give the trie in preorder: each string opens nodes past the
  // prefix it shares with the one before and closes the deeper ones.
  std::vector<uint32_t> path;  // open node per depth
  std::string_view prev;
  auto close_to = [&](size_t depth) {
    while (path.size() > depth) {
      nodes_[path.back()].skip = static_cast<uint32_t>(nodes_.size());
      path.pop_back();
    }
  };
  for (const int32_t id : text_ids) {
    const std::string_view b = bytes(id);
    size_t common = 0;
    const size_t limit = std::min({b.size(), prev.size(), path.size()});
    while (common < limit && b[common] == prev[common]) ++common;
    close_to(common);
    for (size_t d = common; d < b.size(); ++d) {
      path.push_back(static_cast<uint32_t>(nodes_.size()));
      nodes_.push_back({0, 0, 0, static_cast<uint16_t>(d + 1), static_cast<uint8_t>(b[d])});
    }
    Node& end = nodes_[path.back()];
    if (end.tokens_begin == end.tokens_end) end.tokens_begin = end.tokens_end = static_cast<uint32_t>(node_tokens_.size());
    node_tokens_.push_back(id);
    ++end.tokens_end;
    prev = b;
  }
  close_to(0);
  build_ms_ = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

TokenConstraint::TokenConstraint(std::shared_ptr<const Grammar> grammar,
                                 std::shared_ptr<const TokenVocabulary> vocabulary, const MatcherLimits& limits)
    : vocab_(std::move(vocabulary)), matcher_(std::move(grammar), limits) {
  if (!vocab_) throw Error(ErrorCode::kInvalidArgument, "token constraint: no vocabulary");
}

bool TokenConstraint::allows(int32_t token) const {
  if (ended_ || token < 0 || token >= vocab_->n_vocab()) return false;
  switch (vocab_->kind(token)) {
    case TokenVocabulary::Kind::kEnd: return matcher_.complete();
    case TokenVocabulary::Kind::kNever: return false;
    case TokenVocabulary::Kind::kText: return matcher_.can_advance(vocab_->bytes(token));
  }
  return false;
}

void TokenConstraint::accept(int32_t token) {
  if (!allows(token)) {
    const bool known = token >= 0 && token < vocab_->n_vocab();
    throw Error(ErrorCode::kInvalidArgument,
                "token " + std::to_string(token) +
                    (known ? " (\"" + printable(vocab_->bytes(token)) + "\")" : std::string(" (not in the vocabulary)")) +
                    " is not allowed by the grammar here" + (ended_ ? " (generation already ended)" : ""));
  }
  if (vocab_->kind(token) == TokenVocabulary::Kind::kEnd) {
    ended_ = true;
    return;
  }
  matcher_.accept(vocab_->bytes(token));
}

void TokenConstraint::accept_text(std::string_view text) {
  if (ended_ || !matcher_.accept(text))
    throw Error(ErrorCode::kInvalidArgument,
                "text \"" + printable(text.substr(0, 60)) + "\" is not allowed by the grammar here");
}

void TokenConstraint::fill_mask(std::span<uint8_t> allowed) const {
  std::fill(allowed.begin(), allowed.end(), uint8_t{0});
  if (ended_) return;
  if (matcher_.complete())
    for (const int32_t id : vocab_->end_tokens_)
      if (static_cast<size_t>(id) < allowed.size()) allowed[id] = 1;
  const auto& nodes = vocab_->nodes_;
  const auto& tokens = vocab_->node_tokens_;
  const size_t base = matcher_.checkpoint();
  for (size_t i = 0; i < nodes.size();) {
    const TokenVocabulary::Node& node = nodes[i];
    matcher_.rollback(base + node.depth - 1);  // back to the parent's state
    if (!matcher_.advance(node.byte)) {
      i = node.skip;
      continue;
    }
    for (uint32_t t = node.tokens_begin; t < node.tokens_end; ++t)
      if (static_cast<size_t>(tokens[t]) < allowed.size()) allowed[tokens[t]] = 1;
    ++i;
  }
  matcher_.rollback(base);
}

std::vector<int32_t> TokenConstraint::allowed_tokens() const {
  std::vector<uint8_t> mask(static_cast<size_t>(vocab_->n_vocab()));
  fill_mask(mask);
  std::vector<int32_t> ids;
  for (size_t i = 0; i < mask.size(); ++i)
    if (mask[i]) ids.push_back(static_cast<int32_t>(i));
  return ids;
}

}  // namespace hearth::runtime
