"""--tokenizer: counts through a model's own tokenizer and chat template equal transformers'
``apply_chat_template`` token for token (transformers is a test-only reference)."""
from __future__ import annotations

import json
import warnings

import pytest

pytest.importorskip("tokenizers")
pytest.importorskip("jinja2")

from tunelint import chat  # noqa: E402
from tunelint.formats import Normalizer, Record, detect  # noqa: E402

#: a Qwen-like ChatML template with tools, tool calls, tool responses and a default system prompt
QWEN_LIKE = """{%- if tools %}
    {{- '<|im_start|>system\\n' }}
    {%- if messages[0]['role'] == 'system' %}
        {{- messages[0]['content'] }}
    {%- else %}
        {{- 'You are a helpful assistant.' }}
    {%- endif %}
    {{- "\\n\\n# Tools\\n<tools>" }}
    {%- for tool in tools %}
        {{- "\\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\\n</tools><|im_end|>\\n" }}
{%- else %}
    {%- if messages[0]['role'] == 'system' %}
        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}
    {%- else %}
        {{- '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}
    {%- endif %}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role }}
        {%- if message.content %}
            {{- '\\n' + message.content }}
        {%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}
                {%- set tool_call = tool_call.function %}
            {%- endif %}
            {{- '\\n<tool_call>\\n{"name": "' }}
            {{- tool_call.name }}
            {{- '", "arguments": ' }}
            {{- tool_call.arguments | tojson }}
            {{- '}\\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\\n' }}
    {%- elif message.role == "tool" %}
        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\\n<tool_response>\\n' }}
        {{- message.content }}
        {{- '\\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
{%- endif %}
"""

#: a Llama-3-like template: bos_token from the context, headers, a dated system block, tools as JSON
LLAMA3_LIKE = """{{- bos_token }}
{%- if not date_string is defined %}{%- set date_string = "26 Jul 2024" %}{%- endif %}
{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content']|trim %}
    {%- set messages = messages[1:] %}
{%- else %}
    {%- set system_message = "" %}
{%- endif %}
{{- "<|start_header_id|>system<|end_header_id|>\\n\\n" }}
{%- if tools is not none %}{{- "Environment: ipython\\n" }}{%- endif %}
{{- "Today Date: " + date_string + "\\n\\n" }}
{{- system_message }}
{{- "<|eot_id|>" }}
{%- for message in messages %}
    {%- if not (message.role == 'ipython' or message.role == 'tool' or 'tool_calls' in message) %}
        {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' }}
    {%- elif 'tool_calls' in message %}
        {%- if not message.tool_calls|length == 1 %}
            {{- raise_exception("This model only supports single tool-calls at once!") }}
        {%- endif %}
        {%- set tool_call = message.tool_calls[0].function %}
        {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}
        {{- '{"name": "' + tool_call.name + '", ' }}
        {{- '"parameters": ' }}
        {{- tool_call.arguments | tojson }}
        {{- "}" }}
        {{- "<|eot_id|>" }}
    {%- elif message.role == "tool" or message.role == "ipython" %}
        {{- "<|start_header_id|>ipython<|end_header_id|>\\n\\n" }}
        {%- if message.content is mapping or message.content is iterable %}
            {{- message.content | tojson }}
        {%- else %}
            {{- message.content }}
        {%- endif %}
        {{- "<|eot_id|>" }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}
{%- endif %}
"""

SPECIALS = {
    "qwen": ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<tool_call>", "</tool_call>"],
    "llama": ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"],
}

CORPUS = [
    "You are a helpful assistant. Answer briefly and clearly.",
    "What is the capital of France? The capital of France is Paris.",
    "Translate to French: good morning, how are you today? Bonjour, comment allez-vous ?",
    "get_weather location unit celsius fahrenheit temperature The weather in Paris is 18 degrees.",
    "Résumé naïve café 東京 मौसम \n\n\t  spaces   and\nnewlines {\"json\": [1, 2, 3]}",
]

TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Current weather",
          "parameters": {"type": "object", "properties": {"location": {"type": "string"}},
                         "required": ["location"]}}}]

CONVERSATIONS = {
    "plain": [{"role": "user", "content": "What is the capital of France?"},
              {"role": "assistant", "content": "Paris."}],
    "multi-turn": [{"role": "user", "content": "Hi there"}, {"role": "assistant", "content": "Hello! How can I help?"},
                   {"role": "user", "content": "Translate: good morning"},
                   {"role": "assistant", "content": "Bonjour, naïve café 東京"}],
    "system": [{"role": "system", "content": "  Answer briefly.  "}, {"role": "user", "content": "2+2?"},
               {"role": "assistant", "content": "4"}],
    "tool-call": [{"role": "user", "content": "Weather in Paris?"},
                  {"role": "assistant", "content": None, "tool_calls": [
                      {"type": "function", "function": {"name": "get_weather", "arguments": {"location": "Paris"}}}]},
                  {"role": "tool", "content": "18 degrees"},
                  {"role": "assistant", "content": "It is 18 degrees in Paris."}],
}


def _build(tmp_path, family: str, template: str):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=SPECIALS[family],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(CORPUS * 3, trainer)
    d = tmp_path / family
    d.mkdir()
    tok.save(str(d / "tokenizer.json"))
    cfg = {"tokenizer_class": "PreTrainedTokenizerFast", "chat_template": template,
           "model_max_length": 4096}
    if family == "qwen":
        cfg |= {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"}
    else:
        cfg |= {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"}
    (d / "tokenizer_config.json").write_text(json.dumps(cfg))
    return d


def _reference(d):
    transformers = pytest.importorskip("transformers")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return transformers.PreTrainedTokenizerFast.from_pretrained(str(d))


def _hf_ids(ref, messages, tools=None, agp=False):
    out = ref.apply_chat_template(messages, tools=tools, add_generation_prompt=agp, tokenize=True)
    if isinstance(out, dict) or hasattr(out, "keys"):
        out = out["input_ids"]
    return list(out)


@pytest.mark.parametrize("family,template", [("qwen", QWEN_LIKE), ("llama", LLAMA3_LIKE)])
@pytest.mark.parametrize("conv", sorted(CONVERSATIONS))
@pytest.mark.parametrize("with_tools", [False, True])
@pytest.mark.parametrize("agp", [False, True])
def test_counts_equal_transformers(tmp_path, family, template, conv, with_tools, agp):
    d = _build(tmp_path, family, template)
    ref = _reference(d)
    model = chat.load(str(d))
    msgs = CONVERSATIONS[conv]
    if agp:
        msgs = msgs[:-1]
    tools = TOOLS if with_tools else None
    text = model.render(msgs, tools, add_generation_prompt=agp)
    assert text == ref.apply_chat_template(msgs, tools=tools, add_generation_prompt=agp, tokenize=False)
    ids = _hf_ids(ref, msgs, tools, agp)
    assert model.encode(text) == ids
    assert model.count(text) == len(ids)
    b = model.bound(text)
    assert b is not None and b >= len(ids)


def test_template_error_is_the_templates_message(tmp_path):
    d = _build(tmp_path, "llama", LLAMA3_LIKE)
    model = chat.load(str(d))
    two = [{"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": [
        {"function": {"name": "a", "arguments": {}}}, {"function": {"name": "b", "arguments": {}}}]}]
    with pytest.raises(chat.TemplateFailure, match="only supports single tool-calls"):
        model.render(two)


def _rec(obj, fmt=None):
    data = json.dumps(obj).encode()
    r = Record(path="x.jsonl", line=1, column=1, index=0, obj=obj, data=data)
    Normalizer().normalize(r, fmt or detect(obj))
    return r


def test_records_become_conversations():
    alp = chat.conversations(_rec({"instruction": "Translate", "input": "Good night", "output": "Bonne nuit"}))
    assert alp[0].messages == [{"role": "user", "content": "Translate\nGood night"},
                               {"role": "assistant", "content": "Bonne nuit"}]
    sg = chat.conversations(_rec({"conversations": [
        {"from": "human", "value": "Weather?"},
        {"from": "function_call", "value": '{"name": "get_weather", "arguments": {"location": "Paris"}}'},
        {"from": "observation", "value": "18"}, {"from": "gpt", "value": "18 degrees"}],
        "tools": json.dumps(TOOLS)}))
    m = sg[0].messages
    assert m[1]["tool_calls"][0]["function"]["name"] == "get_weather" and m[2]["role"] == "tool"
    assert sg[0].tools == TOOLS
    pc = chat.conversations(_rec({"prompt": "2+2=", "completion": " 4"}))
    assert pc[0].messages is None and pc[0].prompt_text == "2+2="


def test_builtin_qwen_vocabulary_is_verified_and_counts():
    model = chat.load("builtin:qwen2.5")
    assert model.encode("Hello world") == [9707, 1879]  # Qwen2's published ids
    text = model.render([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}])
    assert text.startswith("<|im_start|>system\nYou are Qwen")
    assert model.count("<|im_start|>user\nHi<|im_end|>") == 5


def test_missing_tokenizer_is_one_clear_error(tmp_path):
    with pytest.raises(chat.TokenizerError, match="no tokenizer.json"):
        chat.load(str(tmp_path))
    with pytest.raises(chat.TokenizerError, match="no such tokenizer"):
        chat.load(str(tmp_path / "nope"))
    bad = tmp_path / "tokenizer.json"
    bad.write_text("{not json")
    with pytest.raises(chat.TokenizerError, match="tokenizers"):
        chat.load(str(bad))


def test_tokenizer_json_with_a_separate_chat_template(tmp_path):
    d = _build(tmp_path, "qwen", QWEN_LIKE)
    cfg = json.loads((d / "tokenizer_config.json").read_text())
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / "tokenizer.json").write_bytes((d / "tokenizer.json").read_bytes())
    tpl = tmp_path / "template.jinja"
    tpl.write_text(QWEN_LIKE)
    with pytest.raises(chat.TokenizerError, match="no chat template"):
        chat.load(str(alone / "tokenizer.json")).render(CONVERSATIONS["plain"])
    m = chat.load(str(alone / "tokenizer.json"), str(tpl))
    ref = _reference(d)
    msgs = CONVERSATIONS["tool-call"]
    assert m.encode(m.render(msgs, TOOLS)) == _hf_ids(ref, msgs, TOOLS)
    assert cfg["chat_template"] == QWEN_LIKE
    bad = tmp_path / "bad.jinja"
    bad.write_text("{% for %}")
    with pytest.raises(chat.TokenizerError, match="does not compile"):
        chat.load(str(alone / "tokenizer.json"), str(bad))


def test_chat_template_needs_a_tokenizer(tmp_path):
    from tunelint.config import ConfigError, load_config

    tpl = tmp_path / "t.jinja"
    tpl.write_text("{{ messages }}")
    with pytest.raises(ConfigError, match="needs a tokenizer"):
        load_config(isolated=True, chat_template=str(tpl))
