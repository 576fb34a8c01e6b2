#include "runtime/jinja_lexer.h"

#include <algorithm>
#include <charconv>
#include <limits>

#include "core/error.h"
#include "models/unicode.h"

namespace hearth::runtime::jinja {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }
bool is_blank(char c) { return c == ' ' || c == '\t'; }
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }

// What the end of the previous tag asks of the text that follows it.
enum class After { kNothing, kStripAll, kTrimNewline };

class Lexer {
 public:
  Lexer(std::string_view src, const LexOptions& options) : src_(src), options_(options) {
    line_starts_.push_back(0);
    for (size_t i = 0; i < src.size(); ++i) {
      if (src[i] == '\n') line_starts_.push_back(i + 1);
    }
  }

  std::vector<Token> run() {
    size_t pos = 0;
    After after = After::kNothing;
    while (true) {
      const size_t tag = find_tag(pos);
      const size_t text_end = tag == std::string_view::npos ? src_.size() : tag;
      size_t begin = skip_leading(pos, text_end, after);
      size_t end = text_end;
      if (tag != std::string_view::npos) end = strip_trailing(begin, tag);
      if (end > begin) push(TokenKind::kText, begin, std::string(src_.substr(begin, end - begin)));
      if (tag == std::string_view::npos) break;
      const char kind = src_[tag + 1];
      if (kind == '#') {
        pos = lex_comment(tag, after);
      } else {
        pos = lex_tag(tag, kind == '{', after);
      }
    }
    push(TokenKind::kEnd, src_.size(), "");
    return std::move(tokens_);
  }

 private:
  SourceLocation where(size_t pos) const {
    const auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), pos);
    const size_t line = static_cast<size_t>(it - line_starts_.begin());
    return SourceLocation{static_cast<int>(line), static_cast<int>(pos - line_starts_[line - 1] + 1)};
  }

  [[noreturn]] void fail(size_t pos, const std::string& what) const {
    throw Error(ErrorCode::kFormat, located_message(where(pos), what));
  }

  Token& push(TokenKind kind, size_t pos, std::string text) {
    tokens_.push_back(Token{kind, std::move(text), 0, 0, where(pos)});
    return tokens_.back();
  }

  size_t find_tag(size_t from) const {
    for (size_t i = src_.find('{', from); i != std::string_view::npos; i = src_.find('{', i + 1)) {
      if (i + 1 < src_.size() && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) return i;
    }
    return std::string_view::npos;
  }

  size_t skip_leading(size_t begin, size_t end, After after) const {
    if (after == After::kStripAll) {
      while (begin < end && is_space(src_[begin])) ++begin;
    } else if (after == After::kTrimNewline) {
      if (begin < end && src_[begin] == '\n') {
        ++begin;
      }
    }
    return begin;
  }

  // The end of the text run before the tag at `tag`, after that tag's "-" or
  // lstrip_blocks has taken its share.
  size_t strip_trailing(size_t begin, size_t tag) const {
    const char kind = src_[tag + 1];
    const char mod = tag + 2 < src_.size() ? src_[tag + 2] : '\0';
    size_t end = tag;
    if (mod == '-') {
      while (end > begin && is_space(src_[end - 1])) --end;
    } else if (options_.lstrip_blocks && kind != '{' && mod != '+') {
      // Only whitespace that starts a line in the source counts, even when an
      // earlier trim already removed the newline from the text.
      size_t run = tag;
      while (run > 0 && is_blank(src_[run - 1])) --run;
      if (run == 0 || src_[run - 1] == '\n') end = std::max(begin, run);
    }
    return end;
  }

  size_t lex_comment(size_t tag, After& after) {
    const size_t close = src_.find("#}", tag + 2);
    if (close == std::string_view::npos) fail(tag, "unclosed comment: '{#' has no matching '#}'");
    const char mod = close > tag + 2 ? src_[close - 1] : '\0';
    after = mod == '-'                             ? After::kStripAll
            : (options_.trim_blocks && mod != '+') ? After::kTrimNewline
                                                   : After::kNothing;
    return close + 2;
  }

  // Lexes a {{ }} or {% %} tag at `tag`; returns the position after it.
  size_t lex_tag(size_t tag, bool variable, After& after) {
    const size_t first_token = tokens_.size();
    push(variable ? TokenKind::kVarBegin : TokenKind::kBlockBegin, tag, variable ? "{{" : "{%");
    size_t p = tag + 2;
    if (p < src_.size() && (src_[p] == '-' || src_[p] == '+')) ++p;
    int depth = 0;
    while (true) {
      while (p < src_.size() && is_space(src_[p])) ++p;
      if (p >= src_.size()) {
        fail(tag, variable ? "unclosed '{{': expected '}}' before the end of the template"
                           : "unclosed '{%': expected '%}' before the end of the template");
      }
      if (depth == 0) {
        const std::string_view rest = src_.substr(p);
        const char* close = variable ? "}}" : "%}";
        char mod = '\0';
        size_t close_at = std::string_view::npos;
        if (rest.substr(0, 2) == close) {
          close_at = p;
        } else if ((rest[0] == '-' || (!variable && rest[0] == '+')) && rest.substr(1, 2) == close) {
          mod = rest[0];
          close_at = p + 1;
        }
        if (close_at != std::string_view::npos) {
          push(variable ? TokenKind::kVarEnd : TokenKind::kBlockEnd, p, close);
          if (mod == '-') {
            after = After::kStripAll;
          } else if (!variable && options_.trim_blocks && mod != '+') {
            after = After::kTrimNewline;
          } else {
            after = After::kNothing;
          }
          const size_t next = close_at + 2;
          if (!variable && tokens_.size() == first_token + 3 && tokens_[first_token + 1].kind == TokenKind::kName &&
              tokens_[first_token + 1].text == "raw") {
            tokens_.resize(first_token);
            return lex_raw(tag, next, after);
          }
          return next;
        }
      }
      p = lex_token(p, depth);
    }
  }

  // The body of {% raw %} is text up to {% endraw %}, tags and all.
  size_t lex_raw(size_t tag, size_t body, After& after) {
    for (size_t i = src_.find("{%", body); i != std::string_view::npos; i = src_.find("{%", i + 2)) {
      size_t p = i + 2;
      if (p < src_.size() && (src_[p] == '-' || src_[p] == '+')) ++p;
      while (p < src_.size() && is_space(src_[p])) ++p;
      if (src_.substr(p, 6) != "endraw") continue;
      p += 6;
      while (p < src_.size() && is_space(src_[p])) ++p;
      char mod = '\0';
      if (p < src_.size() && (src_[p] == '-' || src_[p] == '+')) mod = src_[p++];
      if (src_.substr(p, 2) != "%}") continue;
      const size_t begin = skip_leading(body, i, after);
      const size_t end = strip_trailing(begin, i);
      if (end > begin) push(TokenKind::kText, begin, std::string(src_.substr(begin, end - begin)));
      after = mod == '-'                             ? After::kStripAll
              : (options_.trim_blocks && mod != '+') ? After::kTrimNewline
                                                     : After::kNothing;
      return p + 2;
    }
    fail(tag, "unclosed '{% raw %}': expected '{% endraw %}'");
  }

  size_t lex_token(size_t p, int& depth) {
    const char c = src_[p];
    if (is_name_start(c)) {
      size_t e = p;
      while (e < src_.size() && is_name_char(src_[e])) ++e;
      push(TokenKind::kName, p, std::string(src_.substr(p, e - p)));
      return e;
    }
    if (is_digit(c)) return lex_number(p);
    if (c == '\'' || c == '"') return lex_string(p);
    static constexpr std::string_view kTwo[] = {"**", "//", "==", "!=", "<=", ">="};
    for (std::string_view op : kTwo) {
      if (src_.substr(p, 2) == op) {
        push(TokenKind::kOperator, p, std::string(op));
        return p + 2;
      }
    }
    if (std::string_view("+-*/%~<>=.,:|()[]{}").find(c) != std::string_view::npos) {
      if (c == '(' || c == '[' || c == '{') ++depth;
      if ((c == ')' || c == ']' || c == '}') && depth > 0) --depth;
      push(TokenKind::kOperator, p, std::string(1, c));
      return p + 1;
    }
    fail(p, std::string("unexpected character '") + c + "' in tag");
  }

  size_t lex_number(size_t p) {
    size_t e = p;
    std::string digits;
    auto scan_digits = [&] {
      while (e < src_.size() &&
             (is_digit(src_[e]) || (src_[e] == '_' && e + 1 < src_.size() && is_digit(src_[e + 1])))) {
        if (src_[e] != '_') digits += src_[e];
        ++e;
      }
    };
    scan_digits();
    bool is_float = false;
    if (e + 1 < src_.size() && src_[e] == '.' && is_digit(src_[e + 1])) {
      is_float = true;
      digits += '.';
      ++e;
      scan_digits();
    }
    if (e < src_.size() && (src_[e] == 'e' || src_[e] == 'E')) {
      size_t x = e + 1;
      if (x < src_.size() && (src_[x] == '+' || src_[x] == '-')) ++x;
      if (x < src_.size() && is_digit(src_[x])) {
        is_float = true;
        digits += 'e';
        digits.append(src_.substr(e + 1, x - e - 1));
        e = x;
        scan_digits();
      }
    }
    Token& t = push(is_float ? TokenKind::kFloat : TokenKind::kInt, p, std::string(src_.substr(p, e - p)));
    const char* first = digits.data();
    const char* last = digits.data() + digits.size();
    if (is_float) {
      if (std::from_chars(first, last, t.float_value).ec == std::errc::result_out_of_range) {
        // Python reads too large a literal as inf and too small a one as 0.0.
        const size_t e_at = digits.find('e');
        const bool tiny = e_at != std::string::npos && digits[e_at + 1] == '-';
        t.float_value = tiny ? 0.0 : std::numeric_limits<double>::infinity();
      }
    } else if (std::from_chars(first, last, t.int_value).ec != std::errc()) {
      fail(p, "integer literal " + digits + " is too large");
    }
    return e;
  }

  size_t lex_string(size_t p) {
    const char quote = src_[p];
    std::string value;
    size_t i = p + 1;
    auto hex = [&](size_t at, int n) -> uint32_t {
      uint32_t v = 0;
      for (int k = 0; k < n; ++k) {
        const char h = at + k < src_.size() ? src_[at + k] : '\0';
        int d = h >= '0' && h <= '9'   ? h - '0'
                : h >= 'a' && h <= 'f' ? h - 'a' + 10
                : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                       : -1;
        if (d < 0) fail(at, "bad \\x, \\u or \\U escape in string literal");
        v = v * 16 + static_cast<uint32_t>(d);
      }
      return v;
    };
    while (true) {
      if (i >= src_.size()) fail(p, "unterminated string literal");
      const char c = src_[i];
      if (c == quote) break;
      if (c != '\\') {
        value += c;
        ++i;
        continue;
      }
      if (i + 1 >= src_.size()) fail(p, "unterminated string literal");
      const char e = src_[i + 1];
      i += 2;
      switch (e) {
        case 'n':
          value += '\n';
          break;
        case 't':
          value += '\t';
          break;
        case 'r':
          value += '\r';
          break;
        case 'b':
          value += '\b';
          break;
        case 'f':
          value += '\f';
          break;
        case 'v':
          value += '\v';
          break;
        case 'a':
          value += '\a';
          break;
        case '0':
        case '1':
        case '2':
        case '3':
        case '4':
        case '5':
        case '6':
        case '7': {
          // Octal, as in Python: up to three digits.
          uint32_t v = static_cast<uint32_t>(e - '0');
          for (int k = 0; k < 2 && i < src_.size() && src_[i] >= '0' && src_[i] <= '7'; ++k)
            v = v * 8 + (src_[i++] - '0');
          models::unicode::append_utf8(value, v);
          break;
        }
        case '\\':
          value += '\\';
          break;
        case '\'':
          value += '\'';
          break;
        case '"':
          value += '"';
          break;
        case '\n':
          break;  // a backslash before a newline continues the line
        case 'x':
          models::unicode::append_utf8(value, hex(i, 2));
          i += 2;
          break;
        case 'u':
          models::unicode::append_utf8(value, hex(i, 4));
          i += 4;
          break;
        case 'U':
          models::unicode::append_utf8(value, hex(i, 8));
          i += 8;
          break;
        default:  // Python keeps unknown escapes as written
          value += '\\';
          value += e;
      }
    }
    push(TokenKind::kString, p, std::move(value));
    return i + 1;
  }

  std::string_view src_;
  LexOptions options_;
  std::vector<size_t> line_starts_;
  std::vector<Token> tokens_;
};

}  // namespace

std::string located_message(const SourceLocation& where, const std::string& what) {
  return "template line " + std::to_string(where.line) + ", column " + std::to_string(where.column) + ": " + what;
}

std::vector<Token> tokenize(std::string_view source, const LexOptions& options) {
  // jinja2 writes every line ending as "\n" and drops one trailing newline.
  std::string text;
  text.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      text += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      text += source[i];
    }
  }
  if (!options.keep_trailing_newline && !text.empty() && text.back() == '\n') text.pop_back();
  return Lexer(text, options).run();
}

}  // namespace hearth::runtime::jinja
