#include "runtime/grammar.h"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <functional>
#include <limits>
#include <queue>
#include <unordered_map>

#include "core/error.h"

namespace hearth::runtime {
namespace {

constexpr uint32_t kInfinite = std::numeric_limits<uint32_t>::max();
constexpr uint64_t kBottomHash = 0x6a09e667f3bcc909ULL;

uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint32_t saturating_add(uint32_t a, uint32_t b) { return a > kInfinite - b ? kInfinite : a + b; }

std::string byte_text(uint8_t b, bool in_set) {
  if (b == '\\' || (in_set && (b == ']' || b == '-' || b == '^')) || (!in_set && b == '"'))
    return std::string("\\") + static_cast<char>(b);
  if (b >= 0x20 && b < 0x7f) return std::string(1, static_cast<char>(b));
  char hex[8];
  std::snprintf(hex, sizeof hex, "\\x%02x", b);
  return hex;
}

std::string set_text(const ByteSet& s) {
  if (s.count() == 256) return ".";
  const bool negate = s.count() > 128;
  const ByteSet shown = negate ? s.complement() : s;
  std::string out = negate ? "[^" : "[";
  for (int b = 0; b < 256;) {
    if (!shown.test(static_cast<uint8_t>(b))) {
      ++b;
      continue;
    }
    int e = b;
    while (e + 1 < 256 && shown.test(static_cast<uint8_t>(e + 1))) ++e;
    out += byte_text(static_cast<uint8_t>(b), true);
    if (e > b) out += (e > b + 1 ? "-" : "") + byte_text(static_cast<uint8_t>(e), true);
    b = e + 1;
  }
  return out + "]";
}

struct ByteSetHash {
  size_t operator()(const ByteSet& s) const { return static_cast<size_t>(s.hash()); }
};

}  // namespace

// ---- ByteSet ----

ByteSet ByteSet::of(uint8_t b) { return ByteSet().add(b); }
ByteSet ByteSet::range(uint8_t lo, uint8_t hi) { return ByteSet().add_range(lo, hi); }
ByteSet ByteSet::of_chars(std::string_view chars) {
  ByteSet s;
  for (const char c : chars) s.add(static_cast<uint8_t>(c));
  return s;
}
ByteSet ByteSet::all() { return ByteSet().complement(); }

ByteSet& ByteSet::add(uint8_t b) {
  words_[b >> 6] |= uint64_t{1} << (b & 63);
  return *this;
}
ByteSet& ByteSet::add_range(uint8_t lo, uint8_t hi) {
  for (int b = lo; b <= hi; ++b) add(static_cast<uint8_t>(b));
  return *this;
}
ByteSet& ByteSet::add(const ByteSet& other) {
  for (int i = 0; i < 4; ++i) words_[i] |= other.words_[i];
  return *this;
}
ByteSet& ByteSet::remove(uint8_t b) {
  words_[b >> 6] &= ~(uint64_t{1} << (b & 63));
  return *this;
}
ByteSet ByteSet::complement() const {
  ByteSet s;
  for (int i = 0; i < 4; ++i) s.words_[i] = ~words_[i];
  return s;
}
uint64_t ByteSet::hash() const {
  uint64_t h = 0;
  for (const uint64_t w : words_) h = mix(h ^ w);
  return h;
}
int ByteSet::count() const {
  int n = 0;
  for (const uint64_t w : words_) n += std::popcount(w);
  return n;
}

// ---- Grammar ----

std::string Grammar::to_string() const {
  // Names given twice get their rule id, so the text stays unambiguous.
  std::unordered_map<std::string, int> uses;
  for (const auto& n : names_) ++uses[n];
  auto name = [&](uint32_t r) { return uses[names_[r]] > 1 ? names_[r] + "-" + std::to_string(r) : names_[r]; };
  std::string out;
  for (uint32_t r = 0; r < names_.size(); ++r) {
    out += name(r) + " ::=";
    for (uint32_t a = rule_alts_[r]; a < rule_alts_[r + 1]; ++a) {
      if (a > rule_alts_[r]) out += " |";
      std::string literal;
      auto flush = [&] {
        if (!literal.empty()) out += " \"" + literal + "\"";
        literal.clear();
      };
      bool empty = true;
      for (uint32_t p = alt_starts_[a]; kind_of(elements_[p]) != kEnd; ++p) {
        empty = false;
        const uint32_t e = elements_[p];
        if (kind_of(e) == kBytes && sets_[arg_of(e)].count() == 1) {
          for (int b = 0; b < 256; ++b)
            if (sets_[arg_of(e)].test(static_cast<uint8_t>(b))) literal += byte_text(static_cast<uint8_t>(b), false);
          continue;
        }
        flush();
        out += " " + (kind_of(e) == kBytes ? set_text(sets_[arg_of(e)]) : name(arg_of(e)));
      }
      flush();
      if (empty) out += " \"\"";
    }
    out += "\n";
  }
  return out;
}

// ---- GrammarBuilder ----

GrammarBuilder::Sequence GrammarBuilder::literal(std::string_view text) {
  Sequence s;
  s.reserve(text.size());
  for (const char c : text) s.push_back(byte(static_cast<uint8_t>(c)));
  return s;
}

void GrammarBuilder::append(Sequence& to, const Sequence& more) { to.insert(to.end(), more.begin(), more.end()); }

int32_t GrammarBuilder::add_rule(std::string name) {
  rules_.push_back({std::move(name), {}});
  return static_cast<int32_t>(rules_.size() - 1);
}

void GrammarBuilder::add_alternative(int32_t rule, Sequence sequence) {
  if (rule < 0 || rule >= rule_count())
    throw Error(ErrorCode::kInvalidArgument, "grammar: no rule " + std::to_string(rule) + " to add an alternative to");
  rules_[rule].alternatives.push_back(std::move(sequence));
}

int32_t GrammarBuilder::add_rule(std::string name, std::vector<Sequence> alternatives) {
  const int32_t r = add_rule(std::move(name));
  rules_[r].alternatives = std::move(alternatives);
  return r;
}

int32_t GrammarBuilder::repeat(const std::string& name, const Sequence& body, int64_t min, int64_t max) {
  if (min < 0 || (max >= 0 && max < min) || min > kMaxRepeat || max > kMaxRepeat)
    throw Error(ErrorCode::kInvalidArgument, "grammar: repetition {" + std::to_string(min) + "," +
                                                 (max < 0 ? std::string() : std::to_string(max)) + "} of '" + name +
                                                 "' is out of range (0 <= min <= max <= " +
                                                 std::to_string(kMaxRepeat) + ")");
  // The tail after the required copies: a right-recursive loop, or a chain of
  // optionals. Each recursive reference is last in its alternative, so the
  // matcher reuses the frame (a tail call) and the stacks stay flat.
  int32_t tail = -1;
  if (max < 0) {
    tail = add_rule(name + "-star");
    Sequence loop = body;
    loop.push_back(ref(tail));
    rules_[tail].alternatives = {std::move(loop), {}};
  } else {
    for (int64_t k = 0; k < max - min; ++k) {
      const int32_t r = add_rule(name + "-opt");
      Sequence more = body;
      if (tail >= 0) more.push_back(ref(tail));
      rules_[r].alternatives = {std::move(more), {}};
      tail = r;
    }
  }
  Sequence required;
  required.reserve(body.size() * static_cast<size_t>(min) + 1);
  for (int64_t i = 0; i < min; ++i) append(required, body);
  if (tail >= 0) required.push_back(ref(tail));
  return add_rule(name, {std::move(required)});
}

Grammar GrammarBuilder::build(int32_t root) const {
  const auto n_rules = static_cast<uint32_t>(rules_.size());
  if (root < 0 || static_cast<uint32_t>(root) >= n_rules)
    throw Error(ErrorCode::kInvalidArgument, "grammar: the root rule " + std::to_string(root) + " does not exist");
  for (const Rule& r : rules_)
    for (const Sequence& alt : r.alternatives)
      for (const Symbol& s : alt)
        if (s.rule >= static_cast<int32_t>(n_rules))
          throw Error(ErrorCode::kInvalidArgument,
                      "grammar: rule '" + r.name + "' refers to rule " + std::to_string(s.rule) + ", which does not exist");

  // Fewest bytes each rule derives (Knuth's shortest-derivation algorithm: a
  // rule's length is final when it is the smallest candidate left). Rules that
  // never get one derive no finite string.
  struct AltState {
    uint32_t rule;
    uint32_t pending;  // rule references not yet final
    uint32_t length;
  };
  std::vector<AltState> alts;
  std::vector<std::vector<uint32_t>> uses(n_rules);  // alternatives referring to each rule (once per reference)
  using Candidate = std::pair<uint32_t, uint32_t>;   // length, rule
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
  for (uint32_t r = 0; r < n_rules; ++r)
    for (const Sequence& alt : rules_[r].alternatives) {
      AltState st{r, 0, 0};
      bool dead = false;
      for (const Symbol& s : alt) {
        if (s.rule >= 0) ++st.pending;
        else if (s.bytes.empty()) dead = true;
        else ++st.length;
      }
      const auto id = static_cast<uint32_t>(alts.size());
      alts.push_back(st);
      if (dead) {
        alts.back().pending = kInfinite;
        continue;
      }
      for (const Symbol& s : alt)
        if (s.rule >= 0) uses[s.rule].push_back(id);
      if (st.pending == 0) queue.push({st.length, r});
    }
  std::vector<uint32_t> rule_min(n_rules, kInfinite);
  while (!queue.empty()) {
    const auto [len, r] = queue.top();
    queue.pop();
    if (rule_min[r] != kInfinite) continue;
    rule_min[r] = len;
    for (const uint32_t a : uses[r]) {
      AltState& st = alts[a];
      st.length = saturating_add(st.length, len);
      if (--st.pending == 0) queue.push({st.length, st.rule});
    }
  }
  if (rule_min[root] == kInfinite)
    throw Error(ErrorCode::kInvalidArgument,
                "grammar: the root rule '" + rules_[root].name + "' matches no finite string");

  auto live = [&](const Sequence& alt) {
    for (const Symbol& s : alt)
      if (s.rule >= 0 ? rule_min[s.rule] == kInfinite : s.bytes.empty()) return false;
    return true;
  };

  // The rules the root can reach; only they are checked and matched.
  std::vector<uint8_t> reachable(n_rules, 0);
  {
    std::vector<uint32_t> todo = {static_cast<uint32_t>(root)};
    reachable[root] = 1;
    while (!todo.empty()) {
      const uint32_t r = todo.back();
      todo.pop_back();
      for (const Sequence& alt : rules_[r].alternatives)
        if (live(alt))
          for (const Symbol& s : alt)
            if (s.rule >= 0 && !reachable[s.rule]) {
              reachable[s.rule] = 1;
              todo.push_back(static_cast<uint32_t>(s.rule));
            }
    }
  }

  // Left recursion: a rule that reaches itself through references only
  // nullable symbols precede; the matcher would expand it forever. The same
  // depth-first pass gives each rule its FIRST set (the bytes its strings can
  // begin with) once those of its left corners are known.
  std::vector<ByteSet> rule_first(n_rules);
  // Frames a rule's expansion pushes at most before its first byte.
  std::vector<uint32_t> rule_push(n_rules, 0);
  {
    std::vector<std::vector<uint32_t>> left(n_rules);
    for (uint32_t r = 0; r < n_rules; ++r) {
      if (!reachable[r]) continue;
      for (const Sequence& alt : rules_[r].alternatives) {
        if (!live(alt)) continue;
        for (const Symbol& s : alt) {
          if (s.rule < 0) break;
          left[r].push_back(static_cast<uint32_t>(s.rule));
          if (rule_min[s.rule] != 0) break;
        }
      }
    }
    std::vector<uint8_t> colour(n_rules, 0);  // 0 white, 1 on the path, 2 done
    std::vector<std::pair<uint32_t, size_t>> path;
    for (uint32_t start = 0; start < n_rules; ++start) {
      if (!reachable[start] || colour[start]) continue;
      path.push_back({start, 0});
      colour[start] = 1;
      while (!path.empty()) {
        auto& [r, next] = path.back();
        if (next == left[r].size()) {
          for (const Sequence& alt : rules_[r].alternatives) {
            if (!live(alt)) continue;
            for (size_t i = 0; i < alt.size(); ++i) {
              const Symbol& s = alt[i];
              if (s.rule < 0) {
                rule_first[r].add(s.bytes);
                break;
              }
              rule_first[r].add(rule_first[s.rule]);
              const uint32_t push = (i + 1 < alt.size() ? 1 : 0) + rule_push[s.rule];  // last: a tail call
              rule_push[r] = std::max(rule_push[r], push);
              if (rule_min[s.rule] != 0) break;
            }
          }
          colour[r] = 2;
          path.pop_back();
          continue;
        }
        const uint32_t s = left[r][next++];
        if (colour[s] == 1) {
          std::string cycle;
          size_t from = 0;
          while (path[from].first != s) ++from;
          for (size_t i = from; i < path.size(); ++i) cycle += rules_[path[i].first].name + " -> ";
          cycle += rules_[s].name;
          throw Error(ErrorCode::kInvalidArgument, "grammar: rule '" + rules_[s].name +
                                                       "' is left-recursive (" + cycle +
                                                       "); rewrite it with the recursion after a byte");
        }
        if (colour[s] == 0) {
          colour[s] = 1;
          path.push_back({s, 0});
        }
      }
    }
  }

  Grammar g;
  g.root_ = root;
  g.rule_min_ = rule_min;
  g.rule_alts_.reserve(n_rules + 1);
  std::unordered_map<ByteSet, uint32_t, ByteSetHash> set_ids;
  for (uint32_t r = 0; r < n_rules; ++r) {
    g.names_.push_back(rules_[r].name);
    g.rule_alts_.push_back(static_cast<uint32_t>(g.alt_starts_.size()));
    for (const Sequence& alt : rules_[r].alternatives) {
      if (!live(alt)) continue;
      g.alt_starts_.push_back(static_cast<uint32_t>(g.elements_.size()));
      for (const Symbol& s : alt) {
        if (s.rule >= 0) {
          g.elements_.push_back(Grammar::pack(Grammar::kRule, static_cast<uint32_t>(s.rule)));
          continue;
        }
        auto [it, fresh] = set_ids.try_emplace(s.bytes, static_cast<uint32_t>(g.sets_.size()));
        if (fresh) g.sets_.push_back(s.bytes);
        g.elements_.push_back(Grammar::pack(Grammar::kBytes, it->second));
      }
      g.elements_.push_back(Grammar::pack(Grammar::kEnd, 0));
    }
  }
  g.rule_alts_.push_back(static_cast<uint32_t>(g.alt_starts_.size()));
  if (g.elements_.size() >= (size_t{1} << 30) || g.sets_.size() >= (size_t{1} << 30))
    throw Error(ErrorCode::kInvalidArgument, "grammar: too large (" + std::to_string(g.elements_.size()) + " elements)");

  g.suffix_min_.assign(g.elements_.size(), 0);
  g.first_.assign(g.elements_.size(), 0);
  g.need_.assign(g.elements_.size(), 0);
  g.suffix_need_.assign(g.elements_.size(), 0);
  auto intern = [&](const ByteSet& set) {
    auto [it, fresh] = set_ids.try_emplace(set, static_cast<uint32_t>(g.sets_.size()));
    if (fresh) g.sets_.push_back(set);
    return it->second;
  };
  const uint32_t none = intern(ByteSet());
  ByteSet after;  // FIRST of the suffix after p
  for (size_t p = g.elements_.size(); p-- > 0;) {
    const uint32_t e = g.elements_[p];
    if (Grammar::kind_of(e) == Grammar::kEnd) {
      g.first_[p] = none;
      after = ByteSet();
      continue;
    }
    const uint32_t arg = Grammar::arg_of(e);
    const bool bytes = Grammar::kind_of(e) == Grammar::kBytes;
    const uint32_t here = bytes ? 1 : rule_min[arg];
    g.suffix_min_[p] = saturating_add(here, g.suffix_min_[p + 1]);
    ByteSet first = bytes ? g.sets_[arg] : rule_first[arg];
    if (here == 0) first.add(after);
    g.first_[p] = intern(first);
    after = first;
    if (!bytes) {
      const bool tail = Grammar::kind_of(g.elements_[p + 1]) == Grammar::kEnd;
      g.need_[p] = (tail ? 0 : 1) + rule_push[arg];
      g.suffix_need_[p] = std::max(g.need_[p], here == 0 ? g.suffix_need_[p + 1] : 0);
    }
  }
  g.rule_first_.resize(n_rules);
  for (uint32_t r = 0; r < n_rules; ++r) g.rule_first_[r] = intern(rule_first[r]);
  if (g.sets_.size() >= (size_t{1} << 30))
    throw Error(ErrorCode::kInvalidArgument, "grammar: too many byte sets (" + std::to_string(g.sets_.size()) + ")");
  return g;
}

// ---- GrammarMatcher ----

GrammarMatcher::GrammarMatcher(std::shared_ptr<const Grammar> grammar, const MatcherLimits& limits)
    : grammar_(std::move(grammar)), limits_(limits) {
  if (!grammar_) throw Error(ErrorCode::kInvalidArgument, "grammar matcher: no grammar");
  table_.assign(256, 0);
  table_gen_.assign(256, 0);
  begin_level();
  const Grammar& g = *grammar_;
  for (uint32_t a = g.rule_alts_[g.root_]; a < g.rule_alts_[g.root_ + 1]; ++a) heads_.push_back({g.alt_starts_[a], -1});
  finish_level();
}

const GrammarMatcher::TransitionCache::Entry* GrammarMatcher::TransitionCache::find(uint64_t key) const {
  if (entries_.empty()) return nullptr;
  const Entry& e = entries_[key & (kSize - 1)];
  return e.key == key ? &e : nullptr;
}

void GrammarMatcher::TransitionCache::store(const Entry& e) {
  if (entries_.empty()) entries_.resize(kSize);
  entries_[e.key & (kSize - 1)] = e;
}

size_t GrammarMatcher::head_count() const { return levels_.back().heads_end - levels_.back().heads_begin; }

void GrammarMatcher::begin_level() {
  const auto h = static_cast<uint32_t>(heads_.size());
  levels_.push_back({h, h, h, static_cast<uint32_t>(frames_.size()), 0, 0, ByteSet(), false});
  seen_.clear();
  work_.clear();
  if (++generation_ == 0) {  // wrapped: stale stamps could look current
    std::fill(table_gen_.begin(), table_gen_.end(), 0);
    generation_ = 1;
  }
}

// What the new level's stacks allow next, whether one can end here, and the
// level's fingerprints. A stack whose rest of alternative can be empty lets
// its callers' continuations through.
void GrammarMatcher::finish_level() {
  Level& level = levels_.back();
  level.heads_end = static_cast<uint32_t>(heads_.size());
  ByteSet next;
  bool accepting = false;
  uint64_t hash = 0, pos_hash = 0;  // sums: the order heads were found in does not matter
  for (uint32_t i = level.heads_begin; i < level.heads_end; ++i) {
    const Head h = heads_[i];
    hash += mix(config_hash(h.pos, h.frame));
    pos_hash += mix(uint64_t{h.pos} * 0x9b05688c2b3e6c1fULL + 1);
    // The head's rest of alternative, then, while that can be empty, its
    // callers' (each at the depth under its frame).
    uint32_t pos = h.pos;
    int32_t frame = h.frame;
    while (true) {
      if (!add_next(next, pos, frame < 0 ? 0 : frames_[frame].depth)) break;
      if (frame < 0) {
        accepting = true;
        break;
      }
      pos = frames_[frame].ret;
      frame = frames_[frame].parent;
    }
  }
  level.next = next;
  level.accepting = accepting;
  level.hash = hash + (accepting ? 0x510e527fade682d1ULL : 0);
  level.pos_hash = pos_hash;
}

bool GrammarMatcher::add_next(ByteSet& next, uint32_t pos, uint32_t depth) const {
  const Grammar& g = *grammar_;
  if (depth + g.suffix_need_[pos] <= limits_.max_depth) {
    next.add(g.sets_[g.first_[pos]]);
    return g.suffix_min_[pos] == 0;
  }
  // Near the depth limit: only the rules that can still be expanded count.
  for (;; ++pos) {
    const uint32_t e = g.elements_[pos];
    if (Grammar::kind_of(e) == Grammar::kEnd) return true;
    if (Grammar::kind_of(e) == Grammar::kBytes) {
      next.add(g.sets_[Grammar::arg_of(e)]);
      return false;
    }
    if (depth + g.need_[pos] <= limits_.max_depth) next.add(g.sets_[g.rule_first_[Grammar::arg_of(e)]]);
    if (g.rule_min_[Grammar::arg_of(e)] != 0) return false;
  }
}

uint64_t GrammarMatcher::config_hash(uint32_t pos, int32_t frame) const {
  const uint64_t below = frame < 0 ? kBottomHash : frames_[frame].hash;
  return mix(below ^ (uint64_t{pos} * 0x9e3779b97f4a7c15ULL));
}

bool GrammarMatcher::same_stack(int32_t a, int32_t b) const {
  while (a != b) {
    if (a < 0 || b < 0) return false;
    const Frame& fa = frames_[a];
    const Frame& fb = frames_[b];
    if (fa.hash != fb.hash || fa.ret != fb.ret) return false;
    a = fa.parent;
    b = fb.parent;
  }
  return true;
}

void GrammarMatcher::push_config(uint32_t pos, int32_t frame) {
  if (seen_.size() >= limits_.max_configs) return;
  if ((seen_.size() + 1) * 2 > table_.size()) {
    // Grow and re-insert this step's configurations.
    const size_t size = table_.size() * 2;
    table_.assign(size, 0);
    table_gen_.assign(size, 0);
    for (uint32_t i = 0; i < seen_.size(); ++i) {
      size_t slot = config_hash(seen_[i].pos, seen_[i].frame) & (size - 1);
      while (table_gen_[slot] == generation_) slot = (slot + 1) & (size - 1);
      table_gen_[slot] = generation_;
      table_[slot] = i;
    }
  }
  const size_t mask = table_.size() - 1;
  for (size_t slot = config_hash(pos, frame) & mask;; slot = (slot + 1) & mask) {
    if (table_gen_[slot] != generation_) {
      table_gen_[slot] = generation_;
      table_[slot] = static_cast<uint32_t>(seen_.size());
      seen_.push_back({pos, frame});
      work_.push_back({pos, frame});
      return;
    }
    const Head& other = seen_[table_[slot]];
    if (other.pos == pos && same_stack(other.frame, frame)) return;
  }
}

void GrammarMatcher::step(uint8_t byte) {
  const Grammar& g = *grammar_;
  while (!work_.empty()) {
    const Head h = work_.back();
    work_.pop_back();
    const uint32_t e = g.elements_[h.pos];
    switch (Grammar::kind_of(e)) {
      case Grammar::kBytes:
        if (g.sets_[Grammar::arg_of(e)].test(byte)) heads_.push_back({h.pos + 1, h.frame});
        break;
      case Grammar::kEnd:
        if (h.frame >= 0) push_config(frames_[h.frame].ret, frames_[h.frame].parent);
        break;
      case Grammar::kRule: {
        // Neither this rest of alternative nor (when it can be empty) what
        // follows it through the frames can begin with byte: nothing to do.
        if (!g.sets_[g.first_[h.pos]].test(byte) && g.suffix_min_[h.pos] != 0) break;
        const uint32_t rule = Grammar::arg_of(e);
        const uint32_t ret = h.pos + 1;
        // The rule deriving nothing needs no frame: go on after it.
        if (g.rule_min_[rule] == 0) push_config(ret, h.frame);
        const uint32_t depth = h.frame < 0 ? 0 : frames_[h.frame].depth;
        if (!g.sets_[g.rule_first_[rule]].test(byte) || depth + g.need_[h.pos] > limits_.max_depth) break;
        int32_t frame = -2;  // made when the first alternative needs it
        for (uint32_t a = g.rule_alts_[rule]; a < g.rule_alts_[rule + 1]; ++a) {
          const uint32_t start = g.alt_starts_[a];
          if (!g.sets_[g.first_[start]].test(byte)) continue;
          if (frame == -2) {
            // A reference last in its alternative returns straight to our
            // caller (a tail call), so repetition does not deepen the stack.
            frame = h.frame;
            if (Grammar::kind_of(g.elements_[ret]) != Grammar::kEnd) {
              const uint64_t below = h.frame < 0 ? kBottomHash : frames_[h.frame].hash;
              frames_.push_back({ret, h.frame, depth + 1, mix(below + uint64_t{ret} * 0xd6e8feb86659fd93ULL)});
              frame = static_cast<int32_t>(frames_.size() - 1);
            }
          }
          push_config(start, frame);
        }
        break;
      }
    }
  }
}

bool GrammarMatcher::advance(uint8_t byte) {
  const Level current = levels_.back();
  if (!current.next.test(byte)) return false;

  // A byte that leads back to a state still on the level stack (inside an
  // unbounded string, each plain character does) reuses that level's heads.
  const uint64_t key = mix(current.hash ^ ((uint64_t{byte} + 1) * 0xa54ff53a5f1d36f1ULL)) | 1;
  constexpr size_t kReach = 8;  // levels looked back at
  if (limits_.cache_transitions)
    if (const TransitionCache::Entry* e = cache_.find(key)) {
      const size_t lowest = levels_.size() > kReach ? levels_.size() - kReach : 0;
      for (size_t j = levels_.size(); j-- > lowest;) {
        const Level& l = levels_[j];
        if (l.hash != e->hash || l.pos_hash != e->pos_hash || l.accepting != e->accepting ||
            l.heads_end - l.heads_begin != e->heads)
          continue;
        Level alias = l;
        alias.heads_mark = static_cast<uint32_t>(heads_.size());
        alias.frames_mark = static_cast<uint32_t>(frames_.size());
        levels_.push_back(alias);
        return true;
      }
    }

  const size_t before = levels_.size();
  begin_level();
  for (uint32_t i = current.heads_begin; i < current.heads_end; ++i) push_config(heads_[i].pos, heads_[i].frame);
  step(byte);
  finish_level();
  const Level& next = levels_.back();
  if (next.heads_end == next.heads_begin) {  // cannot happen unless max_configs cut the search
    rollback(before);
    return false;
  }
  if (limits_.cache_transitions)
    cache_.store({key, next.hash, next.pos_hash, next.heads_end - next.heads_begin, next.accepting});
  return true;
}

bool GrammarMatcher::advance(std::string_view bytes) {
  const size_t cp = checkpoint();
  for (const char c : bytes)
    if (!advance(static_cast<uint8_t>(c))) {
      rollback(cp);
      return false;
    }
  return true;
}

bool GrammarMatcher::can_advance(std::string_view bytes) {
  const size_t cp = checkpoint();
  const bool ok = advance(bytes);
  rollback(cp);
  return ok;
}

bool GrammarMatcher::accept(std::string_view bytes) {
  if (!advance(bytes)) return false;
  commit();
  return true;
}

void GrammarMatcher::rollback(size_t cp) {
  if (cp == 0 || cp >= levels_.size()) return;
  heads_.resize(levels_[cp].heads_mark);
  frames_.resize(levels_[cp].frames_mark);
  levels_.resize(cp);
}

void GrammarMatcher::commit() {
  if (levels_.size() == 1) return;  // nothing speculative to drop
  // Copy the frames the live heads use, parents first, into a fresh arena.
  const Level top = levels_.back();
  std::vector<int32_t> remap(frames_.size(), -1);
  std::vector<Frame> kept;
  std::vector<int32_t> chain;
  std::vector<Head> heads(heads_.begin() + top.heads_begin, heads_.begin() + top.heads_end);
  for (Head& h : heads) {
    chain.clear();
    for (int32_t f = h.frame; f >= 0 && remap[f] < 0; f = frames_[f].parent) chain.push_back(f);
    for (size_t i = chain.size(); i-- > 0;) {
      Frame f = frames_[chain[i]];
      if (f.parent >= 0) f.parent = remap[f.parent];
      remap[chain[i]] = static_cast<int32_t>(kept.size());
      kept.push_back(f);
    }
    if (h.frame >= 0) h.frame = remap[h.frame];
  }
  frames_ = std::move(kept);
  heads_ = std::move(heads);
  // Renumbering frames keeps the content, so the fingerprints stay.
  levels_.assign(1, Level{0, static_cast<uint32_t>(heads_.size()), 0, 0, top.hash, top.pos_hash, top.next, top.accepting});
}

ByteSet GrammarMatcher::next_bytes() const { return levels_.back().next; }

uint32_t GrammarMatcher::min_bytes_to_complete() const {
  if (complete()) return 0;
  const Grammar& g = *grammar_;
  uint32_t best = kInfinite;
  for (size_t i = levels_.back().heads_begin; i < levels_.back().heads_end; ++i) {
    uint32_t n = g.suffix_min_[heads_[i].pos];
    for (int32_t f = heads_[i].frame; f >= 0 && n < best; f = frames_[f].parent)
      n = saturating_add(n, g.suffix_min_[frames_[f].ret]);
    best = std::min(best, n);
  }
  return best;
}

}  // namespace hearth::runtime
