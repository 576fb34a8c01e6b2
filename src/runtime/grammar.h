// Grammar: a context-free grammar over bytes, and GrammarMatcher, which follows
// a growing byte string through it (for grammar-constrained decoding).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::runtime {

// A set of byte values.
class ByteSet {
 public:
  ByteSet() = default;
  static ByteSet of(uint8_t b);
  static ByteSet range(uint8_t lo, uint8_t hi);  // lo..hi inclusive
  static ByteSet of_chars(std::string_view chars);
  static ByteSet all();

  ByteSet& add(uint8_t b);
  ByteSet& add_range(uint8_t lo, uint8_t hi);
  ByteSet& add(const ByteSet& other);
  ByteSet& remove(uint8_t b);
  ByteSet complement() const;
  bool test(uint8_t b) const { return (words_[b >> 6] >> (b & 63)) & 1; }
  bool empty() const { return (words_[0] | words_[1] | words_[2] | words_[3]) == 0; }
  int count() const;
  uint64_t hash() const;
  bool operator==(const ByteSet& o) const = default;

 private:
  std::array<uint64_t, 4> words_{};
};

// An immutable, checked grammar: every rule can derive some finite string
// (alternatives that cannot are dropped when it is built) and no rule is
// left-recursive. Build one with GrammarBuilder; share it between matchers.
class Grammar {
 public:
  int32_t root() const { return root_; }
  int32_t rule_count() const { return static_cast<int32_t>(names_.size()); }
  const std::string& rule_name(int32_t rule) const { return names_[rule]; }
  int32_t alternative_count(int32_t rule) const {
    return static_cast<int32_t>(rule_alts_[rule + 1] - rule_alts_[rule]);
  }
  // The fewest bytes any string of the rule has.
  uint32_t min_length(int32_t rule) const { return rule_min_[rule]; }
  // Rules as text (name ::= alternatives | ...; "x" literals, [a-z] sets), for
  // debugging and error messages.
  std::string to_string() const;

 private:
  friend class GrammarBuilder;
  friend class GrammarMatcher;
  // An element of an alternative, packed: kind in the low two bits, then the
  // byte-set index or rule id.
  enum Kind : uint32_t { kBytes = 0, kRule = 1, kEnd = 2 };
  static uint32_t pack(Kind kind, uint32_t arg) { return (arg << 2) | kind; }
  static Kind kind_of(uint32_t e) { return static_cast<Kind>(e & 3); }
  static uint32_t arg_of(uint32_t e) { return e >> 2; }

  int32_t root_ = 0;
  std::vector<std::string> names_;
  // Every alternative's elements back to back, each alternative closed by kEnd.
  std::vector<uint32_t> elements_;
  // Fewest bytes from an element to the end of its alternative (0: the rest
  // of the alternative can be empty), and the bytes that rest can begin with
  // (an index into sets_).
  std::vector<uint32_t> suffix_min_;
  std::vector<uint32_t> first_;
  // For a rule reference: the frames expanding it may push before its first
  // byte (need_), and the most any reference in the rest of the alternative
  // whose bytes are in first_ may push (suffix_need_): the matcher's depth
  // limit applies them so what it announces next it can also take.
  std::vector<uint32_t> need_;
  std::vector<uint32_t> suffix_need_;
  std::vector<uint32_t> rule_first_;  // FIRST of each rule (an index into sets_)
  // Alternatives of rule r: alt_starts_[rule_alts_[r] .. rule_alts_[r + 1]).
  std::vector<uint32_t> rule_alts_;
  std::vector<uint32_t> alt_starts_;
  std::vector<uint32_t> rule_min_;
  std::vector<ByteSet> sets_;
};

// Builds a Grammar: add rules, give them alternatives (sequences of byte sets
// and rule references), then build() checks and flattens them.
class GrammarBuilder {
 public:
  struct Symbol {
    ByteSet bytes;
    int32_t rule = -1;  // >= 0: a reference to that rule instead of bytes
  };
  using Sequence = std::vector<Symbol>;

  static Symbol bytes(const ByteSet& set) { return {set, -1}; }
  static Symbol byte(uint8_t b) { return {ByteSet::of(b), -1}; }
  static Symbol ref(int32_t rule) { return {ByteSet{}, rule}; }
  static Sequence literal(std::string_view text);
  static void append(Sequence& to, const Sequence& more);

  // A rule with no alternatives yet (one that never gets any matches nothing).
  int32_t add_rule(std::string name);
  void add_alternative(int32_t rule, Sequence sequence);
  int32_t add_rule(std::string name, std::vector<Sequence> alternatives);
  // A new rule matching body repeated min..max times (max < 0: unbounded),
  // desugared into helper rules that keep the matcher's stacks flat. Throws
  // Error(kInvalidArgument) when min > max or either exceeds kMaxRepeat.
  int32_t repeat(const std::string& name, const Sequence& body, int64_t min, int64_t max);
  static constexpr int64_t kMaxRepeat = 100000;

  int32_t rule_count() const { return static_cast<int32_t>(rules_.size()); }
  const std::string& rule_name(int32_t rule) const { return rules_[rule].name; }

  // Drops alternatives that can derive no finite string, then refuses
  // left-recursive rules and a root that matches nothing, with
  // Error(kInvalidArgument) naming the rules.
  Grammar build(int32_t root) const;

 private:
  struct Rule {
    std::string name;
    std::vector<Sequence> alternatives;
  };
  std::vector<Rule> rules_;
};

// Bounds that keep a matcher's state small whatever the input.
struct MatcherLimits {
  // Nested rule frames one parse may hold; bytes that would need deeper ones
  // are refused (and not announced by next_bytes). About a third of this many
  // JSON nesting levels.
  uint32_t max_depth = 1024;
  // Parse configurations explored per byte; a safety valve for pathological
  // (very ambiguous) grammars, never reached by the JSON grammars. Past it
  // parses are dropped, and a byte next_bytes() announced may be refused.
  uint32_t max_configs = 1u << 16;
  // Remember each state's successor per byte and reuse an earlier level when
  // a byte leads back to it: inside an unbounded JSON string nearly every byte
  // does, which makes mask walks about ten times faster. States are compared
  // by fingerprints (64 bits over the stacks' content, 64 more over the head
  // positions, and the head count), not element by element. Off only to
  // check the cache itself.
  bool cache_transitions = true;
};

// Follows a byte string through a grammar: the set of parse stacks after the
// bytes so far. Stacks share frames (a parent-linked arena), and are expanded
// lazily, one byte at a time, only into alternatives whose FIRST set has that
// byte: a byte costs work in proportion to the parses it continues, not to
// the grammar's breadth or the stacks' depth. Every advance is a level that
// rollback() undoes, which makes speculative matching (trying a token's bytes,
// walking a trie of tokens) cheap; commit() forgets the levels and reclaims
// frames no stack uses. Copying a committed matcher is cheap (the copy starts
// with an empty transition cache).
class GrammarMatcher {
 public:
  explicit GrammarMatcher(std::shared_ptr<const Grammar> grammar, const MatcherLimits& limits = {});

  // Appends a byte: false (and nothing changes) when the grammar does not allow it.
  bool advance(uint8_t byte);
  // All bytes or none: false leaves the state as it was.
  bool advance(std::string_view bytes);
  // Whether bytes could be appended now; the state is unchanged afterwards.
  bool can_advance(std::string_view bytes);
  // advance(bytes) and, when it succeeds, commit().
  bool accept(std::string_view bytes);

  // The input so far is a whole match.
  bool complete() const { return levels_.back().accepting; }
  // Nothing more can be appended: the input is complete and only ending is
  // left (never a dead end, unless max_configs cut the search).
  bool must_end() const { return next_bytes().empty(); }
  // The bytes that can come next.
  ByteSet next_bytes() const;
  // The fewest bytes that complete the input (0 when complete).
  uint32_t min_bytes_to_complete() const;

  // Undo levels: checkpoint() names the current state, rollback() returns to it.
  size_t checkpoint() const { return levels_.size(); }
  void rollback(size_t checkpoint);
  void commit();

  size_t head_count() const;  // live parse stacks
  size_t frame_count() const { return frames_.size(); }
  const Grammar& grammar() const { return *grammar_; }
  const std::shared_ptr<const Grammar>& shared_grammar() const { return grammar_; }

 private:
  // A return address: where to go on in the caller once a rule ends.
  struct Frame {
    uint32_t ret;
    int32_t parent;  // -1: the bottom of the stack
    uint32_t depth;
    uint64_t hash;   // of the whole chain, to compare stacks quickly
  };
  // A parse stack: the element it is at (any kind: expansion waits for the
  // next byte) and the frames under it.
  struct Head {
    uint32_t pos;
    int32_t frame;
  };
  struct Level {
    uint32_t heads_begin;  // this level's heads: heads_[heads_begin, heads_end)
    uint32_t heads_end;
    uint32_t heads_mark;   // sizes of heads_ and frames_ before the level: rollback truncates to them
    uint32_t frames_mark;
    uint64_t hash;      // fingerprint of the content: each head with its whole stack, and accepting
    uint64_t pos_hash;  // of the head positions alone: a second, independent check
    ByteSet next;       // the bytes that can come next
    bool accepting;
  };
  // Successors by (state fingerprint, byte), direct-mapped; a copy starts empty.
  class TransitionCache {
   public:
    struct Entry {
      uint64_t key = 0;
      uint64_t hash = 0;
      uint64_t pos_hash = 0;
      uint32_t heads = 0;
      bool accepting = false;
    };
    TransitionCache() = default;
    TransitionCache(const TransitionCache&) {}
    TransitionCache(TransitionCache&&) = default;
    TransitionCache& operator=(const TransitionCache&) {
      entries_.clear();
      return *this;
    }
    TransitionCache& operator=(TransitionCache&&) = default;
    const Entry* find(uint64_t key) const;
    void store(const Entry& e);

   private:
    static constexpr size_t kSize = 2048;
    std::vector<Entry> entries_;
  };

  void begin_level();
  void finish_level();
  // Adds the bytes the rest of an alternative from pos can begin with at this
  // depth; true when that rest can also be empty.
  bool add_next(ByteSet& next, uint32_t pos, uint32_t depth) const;
  void push_config(uint32_t pos, int32_t frame);
  // Expands the pushed configurations as far as `byte` needs and adds the
  // stacks that consume it to the new level.
  void step(uint8_t byte);
  bool same_stack(int32_t a, int32_t b) const;
  uint64_t config_hash(uint32_t pos, int32_t frame) const;

  std::shared_ptr<const Grammar> grammar_;
  MatcherLimits limits_;
  std::vector<Frame> frames_;
  std::vector<Head> heads_;
  std::vector<Level> levels_;
  // Step scratch: configurations to expand, and those seen this step (an
  // open-addressing table of indices into seen_, cleared by generation).
  std::vector<Head> work_;
  std::vector<Head> seen_;
  std::vector<uint32_t> table_;
  std::vector<uint32_t> table_gen_;
  uint32_t generation_ = 0;
  TransitionCache cache_;
};

}  // namespace hearth::runtime
