/* hearth/plugin.h: the one interface between Hearth and a plugin (OCR, speech
 * recognition, tools). A plain C ABI, versioned, with no C++ types across it, so
 * a plugin can be written in any language that exports C symbols.
 *
 * A plugin is a shared library exporting one symbol, hearth_plugin_entry, that
 * returns a static descriptor. Inputs and outputs are UTF-8 JSON text; each
 * capability declares JSON Schemas for both, and the host checks every output
 * against its schema before trusting it. Memory: the host never frees what the
 * plugin allocated except by calling the plugin's own free_string; the plugin
 * never frees or keeps what the host passes in (valid only during the call).
 *
 * The host may run each call in a separate process (Hearth does), so a plugin
 * must not rely on state surviving from one call to the next. See docs/plugins.md.
 */
#ifndef HEARTH_PLUGIN_H
#define HEARTH_PLUGIN_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever a struct below changes layout or meaning; the host refuses a
 * plugin whose descriptor carries another number. */
#define HEARTH_PLUGIN_ABI_VERSION 1

/* The name of the exported entry function (a hearth_plugin_entry_fn). */
#define HEARTH_PLUGIN_ENTRY_SYMBOL "hearth_plugin_entry"

/* Mark the entry function exported even under -fvisibility=hidden. */
#if defined(_WIN32)
#define HEARTH_PLUGIN_EXPORT __declspec(dllexport)
#else
#define HEARTH_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

/* What a capability does; the host uses it to pick a plugin for `hearth ocr`,
 * `hearth transcribe` and to offer tools to a model. */
typedef enum hearth_capability_kind {
  /* Image to text. Input has at least {"image_path": string}; output has at
   * least {"text": string}, optionally "words": [{"text", "confidence", "box"}]. */
  HEARTH_CAPABILITY_OCR = 1,
  /* Audio to text. Input has at least {"audio_path": string}; output has at
   * least {"text": string}, optionally "segments" with timestamps. */
  HEARTH_CAPABILITY_ASR = 2,
  /* A general tool a model or pipeline can call: any JSON in, any JSON out,
   * as its schemas say. */
  HEARTH_CAPABILITY_TOOL = 3
} hearth_capability_kind;

/* How a call ended. Anything but HEARTH_STATUS_OK must come with a message. */
typedef enum hearth_status {
  HEARTH_STATUS_OK = 0,
  /* The input was wrong: bad JSON fields, a corrupt or unreadable input file. */
  HEARTH_STATUS_INVALID_INPUT = 1,
  /* A file or resource the input names does not exist. */
  HEARTH_STATUS_NOT_FOUND = 2,
  /* Valid input this plugin cannot handle (a language it has no model for). */
  HEARTH_STATUS_UNSUPPORTED = 3,
  /* The plugin itself failed (its engine could not start, out of memory). */
  HEARTH_STATUS_INTERNAL = 4
} hearth_status;

/* What a call (or init) hands back. The plugin fills it; every string in it is
 * either NULL or allocated by the plugin and released by the host through the
 * descriptor's free_string. */
typedef struct hearth_result {
  /* A hearth_status value. */
  int32_t status;
  /* On success: the output, one JSON value as NUL-terminated UTF-8 text
   * matching the capability's output_schema. NULL otherwise. */
  char* output_json;
  /* On failure: one line of UTF-8 saying what was wrong and with what (name the
   * file or field). NULL on success. */
  char* error_message;
} hearth_result;

/* One thing the plugin can do. */
typedef struct hearth_capability {
  /* Unique within the plugin, [a-z0-9_]+, e.g. "ocr" or "word_count"; also the
   * tool name offered to models. */
  const char* name;
  /* A hearth_capability_kind value. */
  int32_t kind;
  /* One sentence for people and for models choosing a tool. */
  const char* description;
  /* JSON Schema (as text) that the input object of call satisfies. The host
   * checks inputs against it before calling. */
  const char* input_schema;
  /* JSON Schema (as text) that call's output_json satisfies. The host rejects
   * output that does not. Hearth checks type, properties, required, items, enum. */
  const char* output_schema;
  /* Run the capability: input_json is a NUL-terminated UTF-8 JSON object that
   * matches input_schema. Fill *result (the host zeroes it first). */
  void (*call)(const char* input_json, hearth_result* result);
} hearth_capability;

/* The descriptor hearth_plugin_entry returns: static, never freed. */
typedef struct hearth_plugin {
  /* HEARTH_PLUGIN_ABI_VERSION as the plugin was compiled; checked first. */
  uint32_t abi_version;
  /* sizeof(hearth_plugin) as the plugin was compiled; lets later versions
   * append fields without breaking old plugins. */
  uint32_t struct_size;
  /* The plugin's name, [a-z0-9_]+; must equal the manifest's "name". */
  const char* name;
  /* The plugin's own version (free text, e.g. "1.2.0"); must equal the
   * manifest's "version". */
  const char* version;
  /* One sentence saying what the plugin is for. */
  const char* description;
  /* How many entries capabilities points to (at least one). */
  uint32_t capability_count;
  /* The capabilities, an array of capability_count entries. */
  const hearth_capability* capabilities;
  /* Optional (NULL if unused): called once before the first call in a
   * process. config_json is a JSON object from the host (keys "plugin_dir":
   * the manifest's directory). Report failure through *result like a call;
   * output_json is ignored. */
  void (*init)(const char* config_json, hearth_result* result);
  /* Optional (NULL if unused): called once after the last call in a process. */
  void (*shutdown)(void);
  /* Releases a string the plugin put in a hearth_result. Required. */
  void (*free_string)(char* text);
} hearth_plugin;

/* The entry function's type; the plugin exports one named hearth_plugin_entry. */
typedef const hearth_plugin* (*hearth_plugin_entry_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* HEARTH_PLUGIN_H */
