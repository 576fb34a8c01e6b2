"""The official OpenAI Python client, unchanged, against `hearth serve` on a free
loopback port: models, chat, streaming chat, completions, json_schema output
that parses and validates, tool calls.

usage: serve_openai_client.py HEARTH_BINARY
"""

import json
import sys

import jsonschema
import openai
from openai import OpenAI

from serve_util import DEFAULT_MODEL, Checks, Server, default_model_path

PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 24},
        "age": {"type": "integer", "minimum": 0, "maximum": 130},
        "city": {"type": "string", "maxLength": 24},
    },
    "required": ["name", "age", "city"],
    "additionalProperties": False,
}

SHOPPING = {
    "type": "object",
    "properties": {
        "store": {"enum": ["bakery", "market", "pharmacy"]},
        "items": {
            "type": "array",
            "minItems": 1,
            "maxItems": 3,
            "items": {
                "type": "object",
                "properties": {"item": {"type": "string", "maxLength": 16}, "count": {"type": "integer", "minimum": 1, "maximum": 9}},
                "required": ["item", "count"],
                "additionalProperties": False,
            },
        },
        "urgent": {"type": "boolean"},
    },
    "required": ["store", "items", "urgent"],
    "additionalProperties": False,
}

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "maxLength": 32},
                "unit": {"enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city", "unit"],
            "additionalProperties": False,
        },
    },
}

TIME_TOOL = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "The local time in a time zone",
        "parameters": {
            "type": "object",
            "properties": {"zone": {"type": "string", "maxLength": 32}},
            "required": ["zone"],
            "additionalProperties": False,
        },
    },
}


def main():
    hearth = sys.argv[1]
    default_model_path()
    checks = Checks()
    with Server(hearth, "--parallel", "2", "-c", "2048") as server:
        client = OpenAI(base_url=server.base + "/v1", api_key="not-needed", max_retries=0, timeout=300)
        ask = [{"role": "user", "content": "What is the capital of France? Answer in one sentence."}]

        def models_list():
            ids = [m.id for m in client.models.list().data]
            assert DEFAULT_MODEL in ids, ids
            m = client.models.retrieve(DEFAULT_MODEL)
            assert m.id == DEFAULT_MODEL and m.object == "model", m
            try:
                client.models.retrieve("no-such-model")
                raise AssertionError("an unknown model was found")
            except openai.NotFoundError:
                pass
            return f"{ids}"

        def chat():
            r = client.chat.completions.create(model=DEFAULT_MODEL, messages=ask, max_tokens=48, temperature=0)
            c = r.choices[0]
            assert r.object == "chat.completion" and r.id.startswith("chatcmpl-"), r
            assert c.message.role == "assistant" and c.message.content, c
            assert c.finish_reason in ("stop", "length"), c.finish_reason
            assert r.usage.prompt_tokens > 0 and 0 < r.usage.completion_tokens <= 48, r.usage
            assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
            assert "Paris" in c.message.content, c.message.content
            return repr(c.message.content[:80])

        def streaming_chat():
            whole = client.chat.completions.create(model=DEFAULT_MODEL, messages=ask, max_tokens=48, temperature=0)
            stream = client.chat.completions.create(model=DEFAULT_MODEL, messages=ask, max_tokens=48, temperature=0,
                                                    stream=True, stream_options={"include_usage": True})
            pieces, finish, usage, chunks = [], None, None, 0
            for chunk in stream:
                chunks += 1
                assert chunk.object == "chat.completion.chunk", chunk
                if chunk.usage:
                    usage = chunk.usage
                for choice in chunk.choices:
                    if choice.delta.content:
                        pieces.append(choice.delta.content)
                    if choice.finish_reason:
                        finish = choice.finish_reason
            text = "".join(pieces)
            assert text == whole.choices[0].message.content, (text, whole.choices[0].message.content)
            assert finish == whole.choices[0].finish_reason, finish
            assert usage and usage.completion_tokens == whole.usage.completion_tokens, usage
            assert len(pieces) > 3, pieces
            return f"{chunks} chunks, {len(pieces)} content pieces, same text as the whole answer"

        def completions():
            r = client.completions.create(model=DEFAULT_MODEL, prompt="The capital of France is", max_tokens=8,
                                          temperature=0)
            assert r.object == "text_completion", r
            assert r.choices[0].text and r.usage.completion_tokens <= 8, r
            s = client.completions.create(model=DEFAULT_MODEL, prompt="The capital of France is", max_tokens=8,
                                          temperature=0, stream=True)
            text = "".join(c.choices[0].text for c in s if c.choices)
            assert text == r.choices[0].text, (text, r.choices[0].text)
            return repr(r.choices[0].text)

        def json_schema(name, schema, prompt):
            def check():
                r = client.chat.completions.create(
                    model=DEFAULT_MODEL, messages=[{"role": "user", "content": prompt}], max_tokens=200,
                    temperature=0.7, seed=7,
                    response_format={"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}})
                content = r.choices[0].message.content
                value = json.loads(content)
                jsonschema.validate(value, schema)
                assert r.choices[0].finish_reason == "stop", r.choices[0].finish_reason
                return content
            return check

        def json_object():
            r = client.chat.completions.create(model=DEFAULT_MODEL, messages=[{"role": "user", "content": "Describe a cat as JSON."}],
                                               max_tokens=120, temperature=0, response_format={"type": "json_object"})
            content = r.choices[0].message.content
            if r.choices[0].finish_reason == "stop":
                assert isinstance(json.loads(content), dict), content
            else:  # cut by max_tokens: still a prefix of an object
                assert content.startswith("{"), content
            return content[:80]

        def parse_with_pydantic():
            try:
                import pydantic
            except ImportError:
                return "skipped: pydantic absent"

            class City(pydantic.BaseModel):
                name: str
                country: str
                population_millions: int

            r = client.chat.completions.parse(model=DEFAULT_MODEL, messages=[{"role": "user", "content": "Tell me about Paris."}],
                                              max_tokens=120, temperature=0, response_format=City)
            city = r.choices[0].message.parsed
            assert isinstance(city, City), r.choices[0].message
            return repr(city)

        def tool_call_named():
            r = client.chat.completions.create(
                model=DEFAULT_MODEL, messages=[{"role": "user", "content": "What is the weather like in Paris?"}],
                tools=[WEATHER_TOOL, TIME_TOOL], tool_choice={"type": "function", "function": {"name": "get_weather"}},
                max_tokens=80, temperature=0)
            c = r.choices[0]
            assert c.finish_reason == "tool_calls", c
            calls = c.message.tool_calls
            assert calls and len(calls) == 1 and calls[0].type == "function", calls
            assert calls[0].function.name == "get_weather", calls[0]
            args = json.loads(calls[0].function.arguments)
            jsonschema.validate(args, WEATHER_TOOL["function"]["parameters"])
            assert calls[0].id.startswith("call_"), calls[0].id
            # The conversation goes on with the tool's result.
            follow = client.chat.completions.create(
                model=DEFAULT_MODEL,
                messages=[{"role": "user", "content": "What is the weather like in Paris?"},
                          {"role": "assistant", "content": None, "tool_calls": [calls[0].model_dump()]},
                          {"role": "tool", "tool_call_id": calls[0].id, "content": json.dumps({"temperature": 21, "sky": "sunny"})}],
                tools=[WEATHER_TOOL, TIME_TOOL], max_tokens=40, temperature=0)
            assert follow.choices[0].message.content or follow.choices[0].message.tool_calls, follow
            return f"{calls[0].function.name}({calls[0].function.arguments})"

        def tool_call_required_streamed():
            stream = client.chat.completions.create(
                model=DEFAULT_MODEL, messages=[{"role": "user", "content": "What time is it in Tokyo?"}],
                tools=[WEATHER_TOOL, TIME_TOOL], tool_choice="required", max_tokens=80, temperature=0, stream=True)
            names, arguments, finish = {}, {}, None
            for chunk in stream:
                for choice in chunk.choices:
                    for tc in choice.delta.tool_calls or []:
                        if tc.function and tc.function.name:
                            names[tc.index] = tc.function.name
                        if tc.function and tc.function.arguments:
                            arguments[tc.index] = arguments.get(tc.index, "") + tc.function.arguments
                    if choice.finish_reason:
                        finish = choice.finish_reason
            assert finish == "tool_calls" and names, (finish, names)
            tools = {"get_weather": WEATHER_TOOL, "get_time": TIME_TOOL}
            for i, name in names.items():
                jsonschema.validate(json.loads(arguments[i]), tools[name]["function"]["parameters"])
            return f"{names} {arguments}"

        def bad_request_surfaces():
            try:
                client.chat.completions.create(model=DEFAULT_MODEL, messages=[], max_tokens=4)
                raise AssertionError("empty messages were accepted")
            except openai.BadRequestError as e:
                assert e.status_code == 400 and "messages" in str(e), e
            try:
                client.chat.completions.create(model="no-such-model", messages=ask, max_tokens=4)
                raise AssertionError("an unknown model was accepted")
            except openai.NotFoundError as e:
                assert e.code == "model_not_found", e.code
            return "400 and 404 raised as the client's own exceptions"

        checks.run("models list and retrieve", models_list)
        checks.run("chat completion", chat)
        checks.run("streaming chat completion", streaming_chat)
        checks.run("text completion (whole and streamed)", completions)
        checks.run("json_schema: person", json_schema("person", PERSON, "Invent a person and give their name, age and city."))
        checks.run("json_schema: shopping list", json_schema("shopping", SHOPPING, "What should I buy for breakfast?"))
        checks.run("json_object", json_object)
        checks.run("structured output via client.chat.completions.parse", parse_with_pydantic)
        checks.run("tool call (named function) and the conversation after it", tool_call_named)
        checks.run("tool call (required, streamed)", tool_call_required_streamed)
        checks.run("errors as client exceptions", bad_request_surfaces)
        if not server.alive():
            print("FAIL server died:", server.log())
            checks.failed += 1
    checks.finish()


if __name__ == "__main__":
    main()
