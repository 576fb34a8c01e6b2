#!/usr/bin/env python3
"""Golden renderings for Hearth's Jinja interpreter and chat templates.

Renders with Python jinja2 set up the way transformers renders chat templates
(ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols,
raise_exception and strftime_now globals, tojson without HTML escaping), and
writes:

  tests/data/chat_templates/golden.json       chat templates x conversations
  tests/data/chat_templates/jinja_cases.json  one small template per language feature

Run from anywhere:  python3 tests/runtime/gen_chat_golden.py
Needs jinja2 (and gguf to refresh smollm2.jinja from the SmolLM2 GGUF, when present).
"""
import datetime
import json
import os
import sys

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data", "chat_templates")
SMOLLM2_GGUF = os.path.expanduser("~/.cache/hearth/models/SmolLM2-135M-Instruct.Q4_1.gguf")


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    # transformers' tojson: json.dumps, no HTML escaping, non-ASCII kept.
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def strftime_now(fmt):
    return datetime.datetime.now().strftime(fmt)


def make_env(sandboxed=True, trim=True):
    cls = ImmutableSandboxedEnvironment if sandboxed else jinja2.Environment
    env = cls(trim_blocks=trim, lstrip_blocks=trim, extensions=["jinja2.ext.loopcontrols", "jinja2.ext.do"])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def render(env, text, context):
    try:
        return {"expected": env.from_string(text).render(**context)}
    except jinja2.exceptions.TemplateSyntaxError as e:
        return {"error": "syntax", "message": str(e)}
    except jinja2.exceptions.TemplateError as e:
        kind = "raised" if type(e) is jinja2.exceptions.TemplateError else "render"
        return {"error": kind, "message": str(e)}
    except Exception as e:  # TypeError and friends: a render error in Hearth too
        return {"error": "render", "message": f"{type(e).__name__}: {e}"}


# ---------------------------------------------------------------- chat goldens

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the current weather in a city",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string", "description": "City name, e.g. Paris"},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                },
                "required": ["city"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "add",
            "description": "Add two numbers",
            "parameters": {
                "type": "object",
                "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
                "required": ["a", "b"],
            },
        },
    },
]

SYSTEM = {"role": "system", "content": "You are a concise assistant."}

CONVERSATIONS = {
    "single_user": [{"role": "user", "content": "Hello!"}],
    "system_user": [SYSTEM, {"role": "user", "content": "What is 2+2?"}],
    "multi_turn": [
        SYSTEM,
        {"role": "user", "content": "Name a colour."},
        {"role": "assistant", "content": "Blue."},
        {"role": "user", "content": "Another one?"},
    ],
    "multi_turn_no_system": [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello! How can I help?"},
        {"role": "user", "content": "Tell me a joke."},
        {"role": "assistant", "content": "Why did the chicken cross the road?"},
    ],
    "whitespace_unicode": [
        {"role": "system", "content": "  Réponds en français.\n"},
        {"role": "user", "content": "\n  Bonjour, ça va? 日本語 🙂  \n\n"},
        {"role": "assistant", "content": "  Très bien, merci !\t"},
        {"role": "user", "content": "Quotes: \"double\" 'single' \\ backslash {{ not a tag }}"},
    ],
    "not_alternating": [
        {"role": "user", "content": "one"},
        {"role": "user", "content": "two"},
    ],
}

# Tool-calling conversations, in transformers' message format.
TOOL_CONVERSATIONS = {
    "tool_call_round_trip": [
        SYSTEM,
        {"role": "user", "content": "What's the weather in Paris?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call12345",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call12345", "name": "get_weather", "content": "{\"temperature\": 21, \"sky\": \"clear\"}"},
        {"role": "assistant", "content": "It is 21 °C and clear in Paris."},
        {"role": "user", "content": "And 2+3?"},
    ],
    "tool_call_with_text": [
        {"role": "user", "content": "Add 2 and 3."},
        {
            "role": "assistant",
            "content": "Let me add those.",
            "tool_calls": [
                {"id": "call00001", "type": "function", "function": {"name": "add", "arguments": {"a": 2, "b": 3}}}
            ],
        },
        {"role": "tool", "tool_call_id": "call00001", "content": "5"},
    ],
    "two_tool_results": [
        {"role": "user", "content": "Weather in Oslo and Rome?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call00002", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Oslo"}}},
                {"id": "call00003", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Rome"}}},
            ],
        },
        {"role": "tool", "tool_call_id": "call00002", "content": "cold"},
        {"role": "tool", "tool_call_id": "call00003", "content": "warm"},
    ],
}

# DeepSeek's template concatenates the arguments, so they are a JSON string there.
DEEPSEEK_TOOL_CONVERSATION = [
    {"role": "system", "content": "You can call tools."},
    {"role": "user", "content": "Add 2 and 3."},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"type": "function", "function": {"name": "add", "arguments": "{\"a\": 2, \"b\": 3}"}}],
    },
    {"role": "tool", "content": "5"},
    {"role": "assistant", "content": "<think>easy</think>The sum is 5."},
    {"role": "user", "content": "Thanks"},
]

QWEN3_THINKING_CONVERSATION = [
    {"role": "user", "content": "What is 3*3?"},
    {"role": "assistant", "content": "<think>\nThree threes.\n</think>\n\n9"},
    {"role": "user", "content": "And 4*4?"},
    {"role": "assistant", "content": "<think>\nFour fours.\n</think>\n\n16"},
]

# template file -> (bos, eos, supports tools)
TEMPLATES = {
    "smollm2.jinja": ("<|im_start|>", "<|im_end|>", False),
    "llama2.jinja": ("<s>", "</s>", False),
    "llama3.jinja": ("<|begin_of_text|>", "<|eot_id|>", False),
    "llama3.1.jinja": ("<|begin_of_text|>", "<|eot_id|>", True),
    "qwen2.5.jinja": ("", "<|im_end|>", True),
    "qwen3.jinja": ("", "<|im_end|>", True),
    "mistral-v0.1.jinja": ("<s>", "</s>", False),
    "mistral-v0.3.jinja": ("<s>", "</s>", True),
    "gemma3.jinja": ("<bos>", "<eos>", False),
    "phi3.jinja": ("<s>", "<|endoftext|>", False),
    "deepseek-r1.jinja": ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", False),
    "builtin_chatml.jinja": ("", "<|im_end|>", False),
    "builtin_llama3.jinja": ("<|begin_of_text|>", "<|eot_id|>", False),
    "builtin_gemma.jinja": ("<bos>", "<eos>", False),
    "builtin_mistral.jinja": ("<s>", "</s>", False),
}


def chat_cases():
    if os.path.exists(SMOLLM2_GGUF):
        from gguf import GGUFReader

        field = GGUFReader(SMOLLM2_GGUF).fields["tokenizer.chat_template"]
        with open(os.path.join(DATA, "smollm2.jinja"), "w") as f:
            f.write(bytes(field.parts[field.data[0]]).decode())
    env = make_env()
    cases = []

    def add(template, conv_name, messages, agp, tools=None, extra=None):
        bos, eos, _ = TEMPLATES[template]
        with open(os.path.join(DATA, template)) as f:
            text = f.read()
        context = {
            "messages": messages,
            "tools": tools,
            "documents": None,
            "add_generation_prompt": agp,
            "bos_token": bos,
            "eos_token": eos,
        }
        context.update(extra or {})
        case = {
            "template": template,
            "conversation": conv_name,
            "messages": messages,
            "add_generation_prompt": agp,
            "bos_token": bos,
            "eos_token": eos,
            "tools": tools,
            "extra_context": extra or {},
        }
        case.update(render(env, text, context))
        cases.append(case)

    # Llama 3.1 writes today's date (strftime_now) unless given one; fix it for stable goldens.
    dated = {"date_string": "25 Nov 2025"}
    for template, (_, _, has_tools) in TEMPLATES.items():
        extra = dated if template == "llama3.1.jinja" else None
        for conv_name, messages in CONVERSATIONS.items():
            for agp in (True, False):
                add(template, conv_name, messages, agp, extra=extra)
        if has_tools:
            for conv_name, messages in TOOL_CONVERSATIONS.items():
                add(template, conv_name, messages, True, tools=TOOLS, extra=extra)
            add(template, "tools_no_calls", CONVERSATIONS["system_user"], True, tools=TOOLS, extra=extra)
    add("llama3.1.jinja", "tools_in_system", CONVERSATIONS["system_user"], True, tools=TOOLS,
        extra={"date_string": "1 Jan 2025", "tools_in_user_message": False})
    add("llama3.1.jinja", "builtin_tools", [
        {"role": "user", "content": "Search for the Hearth runtime."},
        {"role": "assistant", "tool_calls": [{"type": "function", "function": {
            "name": "brave_search", "arguments": {"query": "Hearth runtime", "count": "3"}}}]},
        {"role": "ipython", "content": {"results": ["a", "b"]}},
    ], True, tools=TOOLS, extra={"date_string": "1 Jan 2025", "builtin_tools": ["code_interpreter", "brave_search"]})
    add("llama3.1.jinja", "two_calls_rejected", TOOL_CONVERSATIONS["two_tool_results"], True, tools=TOOLS, extra=dated)
    add("deepseek-r1.jinja", "tool_call_round_trip", DEEPSEEK_TOOL_CONVERSATION, True)
    add("deepseek-r1.jinja", "tool_call_round_trip", DEEPSEEK_TOOL_CONVERSATION, False)
    add("qwen3.jinja", "thinking", QWEN3_THINKING_CONVERSATION, True)
    add("qwen3.jinja", "thinking_disabled", CONVERSATIONS["single_user"], True, extra={"enable_thinking": False})
    add("gemma3.jinja", "content_parts", [
        {"role": "system", "content": [{"type": "text", "text": "Be brief."}]},
        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": " Describe this. "}]},
    ], True)
    add("mistral-v0.3.jinja", "bad_tool_call_id", [
        {"role": "user", "content": "Add."},
        {"role": "assistant", "tool_calls": [{"id": "short", "function": {"name": "add", "arguments": {"a": 1}}}]},
    ], True, tools=TOOLS)
    return cases


# ------------------------------------------------------------- feature cases

# (name, template, context); rendered with trim_blocks and lstrip_blocks unless
# the name starts with "notrim_".
FEATURES = [
    # output, comments, whitespace control
    ("text_only", "plain text\nwith lines", {}),
    ("print_values", "{{ 1 }} {{ 1.5 }} {{ 'a' }} {{ true }} {{ none }} {{ [1, 'b', none] }} {{ {'k': 'v'} }} {{ (1,) }} {{ (1, 2) }}", {}),
    ("print_floats", "{{ 1.0 }} {{ 1e20 }} {{ 1e16 }} {{ 1e15 }} {{ 0.0001 }} {{ 0.00001 }} {{ 1/3 }} {{ -2.5 }} {{ 10/4 }} {{ 3.0*2 }}", {}),
    ("comment", "a{# a comment #}b", {}),
    ("dash_strip", "a  {{- 'b' -}}  c\n{%- if true -%}\n  d  \n{%- endif -%}\n e", {}),
    ("trim_lstrip_blocks", "<ul>\n  {% for x in xs %}\n    <li>{{ x }}</li>\n  {% endfor %}\n</ul>\n", {"xs": [1, 2]}),
    ("lstrip_comment", "a\n  {# c #}\nb", {}),
    ("lstrip_not_for_vars", "a\n  {{ 1 }}\nb", {}),
    ("lstrip_only_at_line_start", "a  {% if true %}x{% endif %}  \nc", {}),
    ("plus_disables", "  {%+ if true %}x{% endif +%}\ny", {}),
    ("notrim_default_whitespace", "<ul>\n  {% for x in xs %}\n    <li>{{ x }}</li>\n  {% endfor %}\n</ul>\n", {"xs": [1, 2]}),
    ("notrim_dash", "a\n  {%- if true %} b {% endif -%}\n  c", {}),
    ("raw_block", "{% raw %}{{ not evaluated }}{% if %}{% endraw %}\nafter", {}),
    ("crlf_trim", "{% if true %}\r\nx\r\n{% endif %}\r\ny", {}),
    # literals and expressions
    ("string_escapes", "{{ 'a\\tb\\\\c\\'d\\x41\\u00e9' }}|{{ \"x'y\" }}|{{ 'ab' 'cd' }}", {}),
    ("string_octal_escape", "{{ 'a\\101\\7b' }}", {}),
    ("float_literal_overflow", "{{ 1e400 }} {{ -1e400 }} {{ 1e-400 }}", {}),
    ("output_tuple", "{{ 1, 'a' }}|{{ x, }}", {"x": 1}),
    ("list_dict_tuple_literals", "{{ [1, [2, 3], {'a': (4, 5)}] }} {{ {'x': 1, 'y': [true, false]} }} {{ () }}", {}),
    ("arithmetic", "{{ 7 + 2 }} {{ 7 - 2 }} {{ 7 * 2 }} {{ 7 / 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 2 ** 10 }} {{ 2 ** -1 }} {{ 7.5 // 2 }} {{ -7.5 % 2 }}", {}),
    ("precedence", "{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 2 ** 3 ** 2 }} {{ -2 ** 2 }} {{ 1 ~ 2 * 3 }} {{ 10 - 2 - 3 }} {{ 'a' ~ 'b' ~ 'c' }}", {}),
    ("concat_tilde", "{{ 'a' ~ 1 ~ none ~ true ~ undefined_var ~ [1] }}", {}),
    ("string_plus_and_repeat", "{{ 'ab' + 'cd' }} {{ 'ab' * 3 }} {{ 2 * 'x' }} {{ [1, 2] + [3] }} {{ [0] * 3 }} {{ true + 1 }}", {}),
    ("comparisons", "{{ 1 < 2 }} {{ 2 <= 2 }} {{ 3 > 4 }} {{ 3 >= 4 }} {{ 1 == 1.0 }} {{ 'a' != 'b' }} {{ 'abc' < 'abd' }} {{ [1, 2] < [1, 3] }} {{ 1 < 2 < 3 }} {{ 1 < 3 < 2 }}", {}),
    ("equality_types", "{{ none == none }} {{ none == false }} {{ 0 == false }} {{ 1 == true }} {{ [1] == [1] }} {{ {'a': 1} == {'a': 1} }} {{ 'a' == 1 }}", {}),
    ("logic", "{{ true and false }} {{ true or false }} {{ not true }} {{ not 0 }} {{ 0 or 'x' }} {{ 'a' and 'b' }} {{ none or [] or 'last' }} {{ not none and 1 }}", {}),
    ("in_not_in", "{{ 1 in [1, 2] }} {{ 3 not in [1, 2] }} {{ 'b' in 'abc' }} {{ 'k' in {'k': 1} }} {{ 'x' in {'k': 1} }} {{ not 1 in [1] }}", {}),
    ("ternary", "{{ 'yes' if true else 'no' }} {{ 'yes' if 0 else 'no' }} [{{ 'only' if false }}] {{ 1 if 0 else 2 if 0 else 3 }}", {}),
    ("truthiness", "{% for v in [0, 1, '', 'a', [], [0], {}, none, 0.0] %}{{ 'T' if v else 'F' }}{% endfor %}", {}),
    ("attribute_and_subscript", "{{ d.a }} {{ d['a'] }} {{ d.b.c }} {{ d['b']['c'] }} {{ l[0] }} {{ l[-1] }} {{ l.1 }} [{{ d.missing }}] [{{ l[10] }}]", {"d": {"a": 1, "b": {"c": 2}}, "l": [10, 20, 30]}),
    ("slices", "{{ l[1:] }} {{ l[:2] }} {{ l[::2] }} {{ l[::-1] }} {{ l[-2:] }} {{ l[1:4:2] }} {{ s[1:3] }} {{ s[::-1] }} {{ s[-3:] }}", {"l": [1, 2, 3, 4, 5], "s": "héllo"}),
    ("subscript_failures_are_undefined", "[{{ 5[1:2] }}][{{ 5[0] }}][{{ none[0] }}][{{ 'ab'[5] }}]", {}),
    ("string_index_unicode", "{{ s[1] }} {{ s|length }} {{ s|list }} {{ s|reverse }}", {"s": "añb€"}),
    # statements
    ("if_elif_else", "{% for n in [1, 2, 3] %}{% if n == 1 %}one{% elif n == 2 %}two{% else %}many{% endif %};{% endfor %}", {}),
    ("for_loop_vars", "{% for x in 'abc' %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }};{% endfor %}", {}),
    ("for_loop_prev_next_cycle", "{% for x in [1, 2, 3] %}{{ loop.previtem }}-{{ loop.nextitem }}-{{ loop.cycle('a', 'b') }};{% endfor %}", {}),
    ("for_else", "{% for x in [] %}{{ x }}{% else %}empty{% endfor %}|{% for x in [1] %}{{ x }}{% else %}empty{% endfor %}", {}),
    ("for_filter", "{% for x in range(10) if x is odd %}{{ x }}{{ ',' if not loop.last }}{% endfor %} {% for x in [1, 2, 3] if x > 1 %}{{ loop.index }}/{{ loop.length }} {% endfor %}", {}),
    ("for_dict_items_unpack", "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{% for k in d %}{{ k }}{% endfor %}{% for (a, b) in [[1, 2], [3, 4]] %}{{ a + b }}{% endfor %}", {"d": {"z": 1, "a": 2}}),
    ("for_nested_loop_var", "{% for a in [1, 2] %}{% for b in [1, 2] %}{{ loop.index }}{% endfor %}{{ loop.index }};{% endfor %}", {}),
    ("for_over_tuple_without_parens", "{% for x in 1, 'b' %}{{ x }};{% endfor %}", {}),
    ("explicit_undefined_argument", "[{{ 'x'|int(missing) }}][{{ nothing|default(missing) }}]", {}),
    ("for_over_undefined_is_empty", "[{% for x in nothing %}{{ x }}{% endfor %}]", {}),
    ("break_continue", "{% for i in range(10) %}{% if i == 2 %}{% continue %}{% endif %}{% if i == 5 %}{% break %}{% endif %}{{ i }}{% endfor %}", {}),
    ("scoping_loop_does_not_leak", "{% set x = 0 %}{% for i in [1, 2] %}[{{ x }}]{% set x = i %}({{ x }}){% endfor %}{{ x }}", {}),
    ("scoping_if_leaks", "{% if true %}{% set y = 5 %}{% endif %}{{ y }}", {}),
    ("set_forms", "{% set a = 1 %}{% set b, c = [2, 3] %}{% set t = 4, 5 %}{{ a }}{{ b }}{{ c }}{{ t }}{% set blk %}x{{ a }}y{% endset %}[{{ blk }}]{% set up | upper %}low{% endset %}{{ up }}", {}),
    ("namespace", "{% set ns = namespace(count=0, names=[]) %}{% for x in ['a', 'b'] %}{% set ns.count = ns.count + 1 %}{% set ns.last = x %}{% endfor %}{{ ns.count }}{{ ns.last }}", {}),
    ("namespace_from_dict", "{% set ns = namespace({'a': 1}, b=2) %}{{ ns.a }}{{ ns.b }}", {}),
    ("macro_defaults_and_keywords", "{% macro m(a, b=2, c='c') %}{{ a }}{{ b }}{{ c }}{% endmacro %}{{ m(1) }}|{{ m(1, 3) }}|{{ m(1, c='z') }}|{{ m(a=5, b=6) }}", {}),
    ("macro_default_uses_param", "{% macro m(a, b=a * 2) %}{{ a }},{{ b }}{% endmacro %}{{ m(3) }}", {}),
    ("macro_missing_arg_undefined", "{% macro m(a, b) %}[{{ a }}][{{ b }}][{{ b is defined }}]{% endmacro %}{{ m(1) }}", {}),
    ("macro_varargs_kwargs", "{% macro m(a) %}{{ a }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1, 2, x=3) }}", {}),
    ("macro_recursion", "{% macro fact(n) %}{% if n <= 1 %}1{% else %}{{ n * fact(n - 1)|int }}{% endif %}{% endmacro %}{{ fact(5) }}", {}),
    ("macro_sees_globals", "{% macro m() %}{{ g }}{% endmacro %}{% set g = 'late' %}{{ m() }}", {}),
    ("call_block", "{% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}{% call wrap('b') %}bold{% endcall %}", {}),
    ("call_block_args", "{% macro each(xs) %}{% for x in xs %}{{ caller(x) }}{% endfor %}{% endmacro %}{% call(item) each([1, 2]) %}[{{ item }}]{% endcall %}", {}),
    ("filter_block", "{% filter upper %}abc {{ 'd' }}{% endfilter %}|{% filter trim | replace('a', 'b') %}  aaa  {% endfilter %}", {}),
    ("with_block", "{% with a = 1, b = 2 %}{{ a + b }}{% endwith %}[{{ a }}]", {}),
    ("do_and_append", "{% set l = [] %}{% do l.append(1) %}{% set _ = l.append(2) %}{{ l }}{{ l.append(3) }}{{ l }}", {}),
    # builtin functions
    ("range_forms", "{{ range(3)|list }} {{ range(1, 4)|list }} {{ range(10, 0, -3)|list }} {{ range(0)|list }}", {}),
    ("dict_function", "{{ dict(a=1, b='x') }} {{ dict({'k': 1}, j=2) }}", {}),
    ("error_raise_exception", "{% if true %}{{ raise_exception('Custom failure: roles must alternate') }}{% endif %}", {}),
    # filters
    ("filter_trim", "[{{ '  a b  '|trim }}][{{ 'xxaxx'|trim('x') }}][{{ '\\n\\tz\\n'|trim }}]", {}),
    ("filter_length_count", "{{ [1, 2]|length }} {{ 'héllo'|length }} {{ {'a': 1}|count }} {{ nothing|length }}", {}),
    ("filter_case", "{{ 'Hello World'|upper }} {{ 'Hello World'|lower }} {{ 'hello wORLD-foo(bar)'|title }} {{ 'hELLO wORLD'|capitalize }}", {}),
    ("filter_replace", "{{ 'aXbXc'|replace('X', '-') }} {{ 'aaa'|replace('a', 'b', 2) }} {{ 'ab'|replace('', '.') }}", {}),
    ("filter_default", "[{{ nothing|default('d') }}][{{ none|default('d') }}][{{ none|default('d', true) }}][{{ ''|d('e', true) }}][{{ 'x'|d('e') }}][{{ nothing|default }}]", {}),
    ("filter_first_last", "{{ [1, 2, 3]|first }} {{ [1, 2, 3]|last }} {{ 'abc'|first }} {{ 'abc'|last }}", {}),
    ("filter_join", "{{ [1, 2, 3]|join(', ') }} {{ ['a', 'b']|join }} {{ [{'n': 'x'}, {'n': 'y'}]|join('+', attribute='n') }}", {}),
    ("filter_list_string", "{{ 'ab'|list }} {{ {'a': 1, 'b': 2}|list }} {{ (1, 2)|list }} {{ 12|string ~ 3 }} {{ [1]|string }}", {}),
    ("filter_int_float", "{{ '42'|int }} {{ '3.7'|int }} {{ 'x'|int }} {{ 'x'|int(7) }} {{ 3.9|int }} {{ 'ff'|int(base=16) }} {{ '3'|float }} {{ 'x'|float }} {{ 2|float }} {{ ' 12 '|int + 1 }}", {}),
    ("filter_abs_round", "{{ -3|abs }} {{ (-3.5)|abs }} {{ 2.5|round }} {{ 3.5|round }} {{ 2.567|round(2) }} {{ 2.5|round(0, 'floor') }} {{ 2.1|round(0, 'ceil') }} {{ 3|round }} {{ 1.005|round(2) }}", {}),
    ("filter_tojson", "{{ {'a': 1, 'b': [1, 2.5, 'x'], 'c': none, 'd': true}|tojson }} {{ 'é\"\\n'|tojson }} {{ [] |tojson }} {{ 1.0|tojson }}", {}),
    ("filter_tojson_indent", "{{ {'a': [1, {'b': 'x'}], 'c': [], 'd': {}}|tojson(indent=2) }}", {}),
    ("filter_tojson_options", "{{ {'b': 1, 'a': 2}|tojson(sort_keys=true) }} {{ {'a': [1, 2]}|tojson(separators=(',', ':')) }} {{ 'é'|tojson(ensure_ascii=true) }}", {}),
    ("filter_tojson_string_indent", "{{ {'a': [1]}|tojson(indent='\\t') }}", {}),
    ("filter_tojson_positional_is_ensure_ascii", "{{ 'é'|tojson(true) }} {{ 'é'|tojson(false) }}", {}),
    ("filter_tojson_messages", "{{ messages|tojson }}", {"messages": [{"role": "user", "content": "hi \"there\"\u00e9 \U0001F600", "n": 1.25e-07}]}),
    ("filter_items_dictsort", "{{ {'b': 1, 'a': 2}|items|list }} {{ {'b': 1, 'A': 2, 'a': 3}|dictsort }} {{ {'b': 1, 'a': 2}|dictsort(by='value', reverse=true) }}", {}),
    ("filter_select_reject", "{{ [1, 2, 3, 4]|select('odd')|list }} {{ [1, 2, 3, 4]|reject('odd')|list }} {{ [0, 1, '', 'a']|select|list }} {{ [1, 2, 3]|select('divisibleby', 3)|list }} {{ [1, 5, 9]|select('gt', 4)|list }}", {}),
    ("filter_selectattr", "{{ msgs|selectattr('role', 'equalto', 'user')|map(attribute='content')|list }} {{ msgs|rejectattr('role', 'eq', 'user')|list|length }} {{ msgs|selectattr('flag')|list|length }} {{ msgs|selectattr('role', 'in', ['tool', 'system'])|list|length }}", {"msgs": [{"role": "user", "content": "a", "flag": True}, {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"}]}),
    ("filter_map", "{{ ['a', 'b']|map('upper')|list }} {{ [1, 2]|map('string')|join('|') }} {{ [{'a': {'b': 1}}]|map(attribute='a.b')|list }} {{ [{'a': 1}, {}]|map(attribute='a', default=9)|list }} {{ ['1', '2']|map('int')|sum }}", {}),
    ("filter_unique_sort_reverse", "{{ ['b', 'A', 'a', 'c']|unique|list }} {{ [3, 1, 2]|sort }} {{ [3, 1, 2]|sort(reverse=true) }} {{ ['b', 'A', 'a']|sort }} {{ ['b', 'A', 'a']|sort(case_sensitive=true) }} {{ [{'n': 2}, {'n': 1}]|sort(attribute='n') }} {{ [1, 2, 3]|reverse|list }}", {}),
    ("filter_min_max_sum", "{{ [3, 1, 2]|max }} {{ [3, 1, 2]|min }} {{ [1, 2.5]|sum }} {{ [{'v': 2}, {'v': 3}]|sum(attribute='v') }} {{ ['b', 'A']|max }}", {}),
    ("filter_safe_escape", "{{ '<b>&\"\\''|escape }} {{ '<b>'|e }} {{ '<b>'|safe }}", {}),
    ("filter_indent", "[{{ 'a\\n'|indent(2, blank=true) }}][{{ 'a\\nb\\n\\nc\\n'|indent(2) }}][{{ 'a\\nb'|indent(2, true) }}][{{ 'a\\n\\nb'|indent(2, blank=true) }}][{{ 'x\\ny'|indent('> ') }}][{{ 'x'|indent }}]", {}),
    ("filter_wordcount", "{{ 'hello world, this is-it'|wordcount }} {{ ''|wordcount }}", {}),
    ("filter_attr", "{{ d|attr('a') }}", {"d": {"a": 5}}),
    ("filter_chain_precedence", "{{ -3|abs }} {{ 'a b'|upper|replace(' ', '_') }} {{ xs|length - 1 }} {{ xs|length > 1 }} {{ 'x' ~ xs|length }}", {"xs": [1, 2, 3]}),
    # tests
    ("test_defined_none", "{{ x is defined }} {{ nothing is defined }} {{ nothing is undefined }} {{ none is none }} {{ x is not none }} {{ x is not defined }}", {"x": 1}),
    ("test_types", "{{ 'a' is string }} {{ 1 is number }} {{ 1.5 is number }} {{ true is number }} {{ 1 is integer }} {{ true is integer }} {{ 1.0 is integer }} {{ 1.0 is float }} {{ {} is mapping }} {{ [] is mapping }} {{ true is boolean }} {{ 1 is boolean }}", {}),
    ("test_iterable_sequence", "{{ 'a' is iterable }} {{ [] is iterable }} {{ {} is iterable }} {{ 1 is iterable }} {{ none is iterable }} {{ [] is sequence }} {{ 'a' is sequence }} {{ {} is sequence }} {{ 1 is sequence }}", {}),
    ("test_numbers", "{{ 3 is odd }} {{ 3 is even }} {{ 6 is divisibleby 3 }} {{ 7 is divisibleby(3) }} {{ 2 is gt 1 }} {{ 2 is ge 3 }} {{ 1 is lt 2 }} {{ 1 is le 1 }}", {}),
    ("test_equality", "{{ 1 is eq 1 }} {{ 1 is equalto 2 }} {{ 'a' is ne 'b' }} {{ 'a' is in 'abc' }} {{ 4 is in [1, 2] }} {{ true is true }} {{ 1 is true }} {{ false is false }} {{ 0 is false }} {{ none is sameas none }}", {}),
    ("unknown_filter_in_untaken_branch", "{% if false %}{{ x|nosuch }}{{ x is nosuch }}{% endif %}ok", {}),
    ("test_callable_case", "{{ range is callable }} {{ 'x' is callable }} {{ 'abc' is lower }} {{ 'ABC' is upper }} {{ 'aBc' is lower }}", {}),
    # methods
    ("method_strip", "[{{ '  a  '.strip() }}][{{ 'xxaxx'.strip('x') }}][{{ '  a  '.lstrip() }}][{{ '  a  '.rstrip() }}][{{ '\\n\\nhi\\n'.lstrip('\\n') }}]", {}),
    ("method_split", "{{ 'a,b,,c'.split(',') }} {{ '  a  b '.split() }} {{ 'a b c'.split(' ', 1) }} {{ 'a<x>b<x>c'.split('<x>')[-1] }} {{ 'a b c'.rsplit(' ', 1) }} {{ 'l1\\nl2\\r\\nl3'.splitlines() }}", {}),
    ("method_starts_ends", "{{ 'hello'.startswith('he') }} {{ 'hello'.endswith('lo') }} {{ 'hello'.startswith(('x', 'h')) }} {{ 'hello'.endswith('x') }}", {}),
    ("method_case_replace", "{{ 'Ab'.upper() }} {{ 'Ab'.lower() }} {{ 'hello wORLD'.title() }} {{ 'aXa'.replace('a', 'b') }} {{ 'hELLO'.capitalize() }}", {}),
    ("method_find_count_join", "{{ 'hello'.find('l') }} {{ 'hello'.rfind('l') }} {{ 'hello'.find('z') }} {{ 'hello'.count('l') }} {{ '-'.join(['a', 'b']) }} {{ '12'.isdigit() }} {{ 'a1'.isalpha() }}", {}),
    ("method_dict", "{{ d.get('a') }} {{ d.get('z') }} {{ d.get('z', 'dflt') }} {{ d.keys()|list }} {{ d.values()|list }} {{ d.items()|list }}", {"d": {"a": 1, "b": 2}}),
    ("method_list", "{% set l = [3, 1] %}{% do l.extend([4]) %}{% do l.insert(0, 9) %}{{ l }} {{ l.pop() }} {{ l }} {{ l.index(1) }} {{ l.count(9) }}", {}),
    # data from JSON context
    ("context_json_types", "{{ m.role }} {{ m.content is none }} {{ m.n + 1 }} {{ m.f * 2 }} {{ m.list|length }} {{ m.nested.deep }} {{ m.flag is true }}", {"m": {"role": "user", "content": None, "n": 41, "f": 1.5, "list": [1, 2], "nested": {"deep": "ok"}, "flag": True}}),
    ("message_dict_key_checks", "{% for m in msgs %}{{ 'tool_calls' in m }}{{ m.tool_calls is defined }}{{ m['content'] }};{% endfor %}", {"msgs": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b", "tool_calls": []}]}),
    # errors jinja2 also reports (the C++ test checks that Hearth throws)
    ("error_undefined_plus", "{{ nothing + 'a' }}", {}),
    ("error_none_plus_string", "{{ none + 'a' }}", {}),
    ("error_call_undefined", "{{ nothing() }}", {}),
    ("error_iterate_int", "{% for x in 5 %}{% endfor %}", {}),
    ("error_divide_by_zero", "{{ 1 / 0 }}", {}),
    ("error_set_attr_non_namespace", "{% set d = {} %}{% set d.x = 1 %}", {}),
]


def feature_cases():
    cases = []
    for name, text, context in FEATURES:
        trim = not name.startswith("notrim_")
        env = make_env(sandboxed=False, trim=trim)
        case = {"name": name, "template": text, "context": context, "trim": trim}
        case.update(render(env, text, context))
        if name.startswith("error_") != ("error" in case):
            sys.exit(f"feature case {name}: unexpected result {case}")
        cases.append(case)
    return cases


def main():
    chat = chat_cases()
    with open(os.path.join(DATA, "golden.json"), "w") as f:
        json.dump(chat, f, indent=1, ensure_ascii=False)
        f.write("\n")
    features = feature_cases()
    with open(os.path.join(DATA, "jinja_cases.json"), "w") as f:
        json.dump(features, f, indent=1, ensure_ascii=False)
        f.write("\n")
    errors = sum(1 for c in chat if "error" in c)
    print(f"jinja2 {jinja2.__version__}: {len(chat)} chat renderings ({errors} raising), {len(features)} feature cases")


if __name__ == "__main__":
    main()
