"""Write a tiny llama-architecture model (GGUF) with random weights, for the real-server tests.

    python tiny_model.py OUT.gguf [--seed 7] [--context 2048]

Needs `gguf` and `numpy` (scripts/realup/build.sh installs them beside llama-server).

The model is 64 wide with 2 layers, so llama-server loads it in a blink and answers on one
thread. Its vocabulary is SentencePiece-like: the control tokens, every byte as a BYTE token
(so any text can be written, and random replies include stray bytes), printable ASCII and a
few longer pieces. Fixed ids the tests rely on:

    13   the byte "\\n"          261  <tool_call>          262  </tool_call>

The chat template is ChatML that renders tools and tool calls as <tool_call>{json}</tool_call>,
which llama-server (with --jinja) recognises; biasing ids 261 and 13 makes this random model
call a tool on every turn. The same arguments always write the same bytes.
"""

from __future__ import annotations

import argparse

import gguf
import numpy as np

WIDTH, LAYERS, HEADS, FEED_FORWARD = 64, 2, 4, 128

TEMPLATE = """{%- set first_system = messages and messages[0]['role'] == 'system' %}
{%- if tools %}
{{- '<|im_start|>system\\n' }}
{{- messages[0]['content'] if first_system else 'You are a helpful assistant.' }}
{{- '\\n\\n# Tools\\n\\nFunction signatures, one per line, within <tools></tools>:\\n<tools>' }}
{%- for tool in tools %}{{- '\\n' + (tool | tojson) }}{%- endfor %}
{{- '\\n</tools>\\n\\nTo call one, answer <tool_call>\\n' }}
{{- '{"name": <name>, "arguments": <object>}\\n</tool_call><|im_end|>\\n' }}
{%- elif first_system %}
{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}
{%- endif %}
{%- for message in messages %}
{%- set role = message['role'] %}
{%- if role == 'system' and loop.first %}
{%- elif role == 'tool' %}
{%- if loop.first or messages[loop.index0 - 1]['role'] != 'tool' %}
{{- '<|im_start|>user' }}
{%- endif %}
{{- '\\n<tool_response>\\n' + message['content'] + '\\n</tool_response>' }}
{%- if loop.last or messages[loop.index0 + 1]['role'] != 'tool' %}{{- '<|im_end|>\\n' }}{%- endif %}
{%- elif role == 'assistant' and message.get('tool_calls') %}
{{- '<|im_start|>assistant' }}
{%- if message['content'] %}{{- '\\n' + message['content'] }}{%- endif %}
{%- for call in message['tool_calls'] %}
{%- set call = call['function'] if call['function'] is defined else call %}
{{- '\\n<tool_call>\\n{"name": "' + call['name'] + '", "arguments": ' }}
{{- call['arguments'] if call['arguments'] is string else (call['arguments'] | tojson) }}
{{- '}\\n</tool_call>' }}
{%- endfor %}
{{- '<|im_end|>\\n' }}
{%- else %}
{{- '<|im_start|>' + role + '\\n' }}
{{- message['content'] if message['content'] is string else '' }}
{{- '<|im_end|>\\n' }}
{%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}
"""

EXTRA_CHARACTERS = "éüßñ€日本語中文—…🙂🚀жλ"
SPACE = "\u2581"  # how SentencePiece writes a space
WORD_PIECES = ["the", "a", "Hello", "world", "Hi", "you", "w"]
INNER_PIECES = ["he", "th", "in", "er", "an", "lo", "ll", "llo", "or", "ld", "ou"]


def vocabulary() -> tuple[list[str], list[int], list[float]]:
    """Tokens, their types and their scores (longer pieces score higher, so they merge)."""
    kind = gguf.TokenType
    entries: list[tuple[str, int, float]] = [
        ("<unk>", kind.UNKNOWN, 0.0),
        ("<s>", kind.CONTROL, 0.0),
        ("</s>", kind.CONTROL, 0.0),
    ]
    entries += [(f"<0x{byte:02X}>", kind.BYTE, 0.0) for byte in range(256)]
    entries += [
        ("<|im_start|>", kind.CONTROL, 0.0),
        ("<|im_end|>", kind.CONTROL, 0.0),
        ("<tool_call>", kind.USER_DEFINED, 0.0),
        ("</tool_call>", kind.USER_DEFINED, 0.0),
    ]
    pieces = [SPACE, *(chr(code) for code in range(33, 127)), *EXTRA_CHARACTERS]
    pieces += [SPACE + word for word in WORD_PIECES] + INNER_PIECES
    seen = {text for text, _, _ in entries}
    for rank, piece in enumerate(dict.fromkeys(p for p in pieces if p not in seen)):
        entries.append((piece, kind.NORMAL, len(piece) - 1.0 - rank / 100))
    return [e[0] for e in entries], [int(e[1]) for e in entries], [e[2] for e in entries]


def write_model(path: str, seed: int, context: int) -> int:
    tokens, types, scores = vocabulary()
    head = WIDTH // HEADS
    writer = gguf.GGUFWriter(path, "llama")
    writer.add_name("llmproxy-tiny-test-model")
    writer.add_context_length(context)
    writer.add_embedding_length(WIDTH)
    writer.add_block_count(LAYERS)
    writer.add_feed_forward_length(FEED_FORWARD)
    writer.add_head_count(HEADS)
    writer.add_head_count_kv(HEADS)
    writer.add_rope_dimension_count(head)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_vocab_size(len(tokens))
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_scores(scores)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_eot_token_id(tokens.index("<|im_end|>"))  # a turn ends at <|im_end|>
    writer.add_unk_token_id(0)
    writer.add_pad_token_id(0)
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(False)
    # Without this the tokenizer puts a space after every control token, and the server's
    # tool-call grammar (primed with "<|im_start|>assistant\n") fails to start.
    writer.add_add_space_prefix(False)
    writer.add_chat_template(TEMPLATE)

    rng = np.random.default_rng(seed)

    def weights(rows: int, columns: int, spread: float = 0.2) -> np.ndarray:
        return (rng.standard_normal((rows, columns)) * spread).astype(np.float32)

    ones = np.ones(WIDTH, dtype=np.float32)
    writer.add_tensor("token_embd.weight", weights(len(tokens), WIDTH, 1.0))
    for layer in range(LAYERS):
        block = f"blk.{layer}."
        writer.add_tensor(block + "attn_norm.weight", ones)
        for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
            writer.add_tensor(block + name + ".weight", weights(WIDTH, WIDTH))
        writer.add_tensor(block + "ffn_norm.weight", ones)
        writer.add_tensor(block + "ffn_gate.weight", weights(FEED_FORWARD, WIDTH))
        writer.add_tensor(block + "ffn_up.weight", weights(FEED_FORWARD, WIDTH))
        writer.add_tensor(block + "ffn_down.weight", weights(WIDTH, FEED_FORWARD))
    writer.add_tensor("output_norm.weight", ones)
    writer.add_tensor("output.weight", weights(len(tokens), WIDTH, 1.0))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return len(tokens)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--context", type=int, default=2048)
    args = parser.parse_args()
    size = write_model(args.out, args.seed, args.context)
    print(f"{args.out}: {size} tokens, {LAYERS} layers, context {args.context}")


if __name__ == "__main__":
    main()
