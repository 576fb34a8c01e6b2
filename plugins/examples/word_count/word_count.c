/* word_count: the sample third-party Hearth plugin. A "tool" that counts the
 * words, characters (Unicode code points) and lines of a text. Plain C99 built
 * against include/hearth/plugin.h alone, to show everything a plugin needs. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hearth/plugin.h"

/* The host checks input against this before calling, so the parser below only
 * ever sees {"text": "..."}: one key, a string value. */
static const char kInputSchema[] =
    "{\"type\": \"object\", \"required\": [\"text\"], \"additionalProperties\": false,"
    " \"properties\": {\"text\": {\"type\": \"string\"}}}";
static const char kOutputSchema[] =
    "{\"type\": \"object\", \"required\": [\"words\", \"characters\", \"lines\"],"
    " \"properties\": {\"words\": {\"type\": \"integer\", \"minimum\": 0},"
    " \"characters\": {\"type\": \"integer\", \"minimum\": 0},"
    " \"lines\": {\"type\": \"integer\", \"minimum\": 0}}}";

static char* copy_text(const char* s) {
  size_t n = strlen(s) + 1;
  char* p = (char*)malloc(n);
  if (p) memcpy(p, s, n);
  return p;
}

static void fail(hearth_result* r, int32_t status, const char* message) {
  r->status = status;
  r->error_message = copy_text(message);
}

static const char* skip_space(const char* p) {
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') ++p;
  return p;
}

/* Counters fed one code point at a time, so escapes need no decoded copy. */
typedef struct counts {
  long words, characters, lines;
  int in_word;
  uint32_t last;
} counts;

static void feed(counts* c, uint32_t cp) {
  int space = cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == '\f' || cp == '\v';
  c->characters++;
  if (cp == '\n') c->lines++;
  if (!space && !c->in_word) c->words++;
  c->in_word = !space;
  c->last = cp;
}

static int hex4(const char* p, uint32_t* out) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) {
    char h = p[i];
    v <<= 4;
    if (h >= '0' && h <= '9') v |= (uint32_t)(h - '0');
    else if (h >= 'a' && h <= 'f') v |= (uint32_t)(h - 'a' + 10);
    else if (h >= 'A' && h <= 'F') v |= (uint32_t)(h - 'A' + 10);
    else return 0;
  }
  *out = v;
  return 1;
}

/* Walks a JSON string starting after its opening quote; returns the character
 * after the closing quote, or NULL if the string is malformed. */
static const char* count_string(const char* p, counts* c) {
  while (*p && *p != '"') {
    uint32_t cp;
    if (*p == '\\') {
      ++p;
      switch (*p) {
        case 'n': cp = '\n'; break;
        case 't': cp = '\t'; break;
        case 'r': cp = '\r'; break;
        case 'b': cp = 8; break;
        case 'f': cp = 12; break;
        case '"': case '\\': case '/': cp = (uint8_t)*p; break;
        case 'u':
          if (!hex4(p + 1, &cp)) return NULL;
          p += 4;
          if (cp >= 0xD800 && cp <= 0xDBFF) { /* a surrogate pair is one character */
            uint32_t low;
            if (p[1] != '\\' || p[2] != 'u' || !hex4(p + 3, &low)) return NULL;
            p += 6;
          }
          break;
        default: return NULL;
      }
      ++p;
    } else {
      cp = (uint8_t)*p;
      ++p;
      while (((uint8_t)*p & 0xC0) == 0x80) ++p; /* the continuation bytes of one code point */
    }
    feed(c, cp);
  }
  return *p == '"' ? p + 1 : NULL;
}

static void word_count_call(const char* input_json, hearth_result* result) {
  counts c = {0, 0, 0, 0, 0};
  const char* p = skip_space(input_json);
  static const char kKey[] = "\"text\"";
  if (*p++ != '{') return fail(result, HEARTH_STATUS_INVALID_INPUT, "input: expected an object");
  p = skip_space(p);
  if (strncmp(p, kKey, sizeof kKey - 1) != 0)
    return fail(result, HEARTH_STATUS_INVALID_INPUT, "input: expected the key \"text\"");
  p = skip_space(p + sizeof kKey - 1);
  if (*p++ != ':') return fail(result, HEARTH_STATUS_INVALID_INPUT, "input: expected ':' after \"text\"");
  p = skip_space(p);
  if (*p++ != '"') return fail(result, HEARTH_STATUS_INVALID_INPUT, "input: \"text\" must be a string");
  if (!count_string(p, &c)) return fail(result, HEARTH_STATUS_INVALID_INPUT, "input: \"text\" is a malformed string");
  /* A last line without a newline still counts as a line. */
  if (c.characters > 0 && c.last != '\n') c.lines++;
  char out[160];
  snprintf(out, sizeof out, "{\"words\": %ld, \"characters\": %ld, \"lines\": %ld}", c.words, c.characters, c.lines);
  result->status = HEARTH_STATUS_OK;
  result->output_json = copy_text(out);
  if (!result->output_json) fail(result, HEARTH_STATUS_INTERNAL, "out of memory");
}

static void free_text(char* text) { free(text); }

static const hearth_capability kCapabilities[] = {
    {"word_count", HEARTH_CAPABILITY_TOOL, "Counts the words, characters and lines of a text.", kInputSchema,
     kOutputSchema, word_count_call},
};

static const hearth_plugin kPlugin = {
    HEARTH_PLUGIN_ABI_VERSION,
    sizeof(hearth_plugin),
    "word_count",
    "1.0.0",
    "Counts the words, characters and lines of a text (the sample plugin).",
    1,
    kCapabilities,
    NULL, /* init: nothing to set up */
    NULL, /* shutdown */
    free_text,
};

HEARTH_PLUGIN_EXPORT const hearth_plugin* hearth_plugin_entry(void) { return &kPlugin; }
