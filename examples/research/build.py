"""Builds the research flavor's sample datasets from the project's own corpus (examples/data), as
Hugging Face dataset folders for `datasets.load_dataset`:

  jsonl-configs/   README.md YAML `configs` with named splits (list and glob patterns) and typed
                   `dataset_info.features`; teacher scores with nulls; five task types
  jsonl-patterns/  no configs: split-name file patterns (train.jsonl, dev.jsonl = validation,
                   test.jsonl), files no pattern names (skipped), a `symmetric_classification` type
  parquet/         data/{split}-00000-of-00001.parquet names, small row groups

Run from the repository root with the oracle venv (it needs pyarrow):
    /tmp/oracle-venv/bin/python examples/research/build.py
"""
import json, os, shutil
import pyarrow as pa, pyarrow.parquet as pq

root = os.path.dirname(os.path.abspath(__file__))
data = os.path.join(root, '..', 'data')

def read(path):
    with open(os.path.join(data, path), encoding='utf-8') as f:
        return [json.loads(line) for line in f if line.strip()]

def write(path, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + '\n')

def reversed_pairs(rows):
    # The same pairs the other way round: positive as query, query as positive.
    return [{**r, 'query': r['pos'][0], 'pos': [r['query']]} for r in rows]

faq, glossary, paraphrase = read('retrieval/faq.jsonl'), read('retrieval/glossary.jsonl'), read('retrieval/paraphrase.jsonl')
sts = read('sts/sentences.jsonl')
sentiment, topic = read('classification-no_in_batch_neg/sentiment.jsonl'), read('classification-no_in_batch_neg/topic.jsonl')
fields = read('clustering-no_in_batch_neg/fields.jsonl')
small = read('small/history.jsonl') + read('small/recipes.jsonl') + read('small/travel.jsonl') + read('small/weather.jsonl')

# Teacher scores with nulls: a whole list null, single entries null (the module skips them).
faq = [dict(r) for r in faq]
for i in (0, 5, 11):
    faq[i]['pos_scores'] = None
for i in (2, 7):
    faq[i]['neg_scores'] = None
for i in (3, 9, 14):
    faq[i]['neg_scores'] = [None if k % 2 == 0 else s for k, s in enumerate(faq[i]['neg_scores'])]
faq[4]['pos_scores'] = [None] * len(faq[4]['pos'])

# --- jsonl-configs ---------------------------------------------------------------------------
out = os.path.join(root, 'jsonl-configs')
shutil.rmtree(out, ignore_errors=True)
write(os.path.join(out, 'data', 'retrieval', 'faq.jsonl'), faq)
write(os.path.join(out, 'data', 'retrieval', 'glossary.jsonl'), glossary)
write(os.path.join(out, 'data', 'paraphrase.jsonl'), paraphrase)
write(os.path.join(out, 'data', 'sts.jsonl'), sts + reversed_pairs(sts))
write(os.path.join(out, 'data', 'classification', 'sentiment.jsonl'), sentiment)
write(os.path.join(out, 'data', 'classification', 'topic.jsonl'), topic)
write(os.path.join(out, 'data', 'clustering.jsonl'), fields + reversed_pairs(fields))
with open(os.path.join(out, 'README.md'), 'w', encoding='utf-8') as f:
    f.write('''---
configs:
- config_name: default
  data_files:
  - split: sts
    path: data/sts.jsonl
  - split: retrieval
    path: data/retrieval/*.jsonl
  - split: clustering
    path: data/clustering.jsonl
  - split: paraphrase
    path: data/paraphrase.jsonl
  - split: classification
    path:
    - data/classification/sentiment.jsonl
    - data/classification/topic.jsonl
dataset_info:
  features:
  - name: query
    dtype: string
  - name: pos
    list: string
  - name: neg
    list: string
  - name: pos_scores
    list: float64
  - name: neg_scores
    list: float64
  - name: prompt
    dtype: string
  - name: type
    dtype: string
  - name: category
    dtype: string
---

# Research sample dataset (JSON Lines, YAML configs)

Written for llm-retriever-data from its own sample corpus (examples/data, MIT). Five splits, one per
task type, named in the card in this order (which is the task order): sts (symmetric_sts),
retrieval (normal, teacher scores with nulls), clustering (symmetric_clustering, with category),
paraphrase (only_1neg), classification (symmetric_class, two files). Built by ../build.py.
''')

# --- jsonl-patterns --------------------------------------------------------------------------
out = os.path.join(root, 'jsonl-patterns')
shutil.rmtree(out, ignore_errors=True)
write(os.path.join(out, 'train.jsonl'), small + glossary)
write(os.path.join(out, 'dev.jsonl'), sts)
write(os.path.join(out, 'test.jsonl'), [{**r, 'type': 'symmetric_classification'} for r in sentiment + topic])
write(os.path.join(out, 'unused.jsonl'), paraphrase[:2])  # no split keyword: load_dataset does not read it
with open(os.path.join(out, 'README.md'), 'w', encoding='utf-8') as f:
    f.write('''# Research sample dataset (JSON Lines, split-name patterns)

Written for llm-retriever-data from its own sample corpus (examples/data, MIT). No YAML configs:
`load_dataset` takes the splits from the file names: train.jsonl (train: normal retrieval with
teacher scores), dev.jsonl (validation: symmetric_sts), test.jsonl (test: type
`symmetric_classification`, read by substring as a class task). unused.jsonl matches no split name
and is not read. Built by ../build.py.
''')

# --- parquet ---------------------------------------------------------------------------------
out = os.path.join(root, 'parquet')
shutil.rmtree(out, ignore_errors=True)
schema = pa.schema([
    ('query', pa.string()), ('pos', pa.list_(pa.string())), ('neg', pa.list_(pa.string())),
    ('pos_scores', pa.list_(pa.float64())), ('neg_scores', pa.list_(pa.float64())),
    ('prompt', pa.string()), ('type', pa.string()), ('category', pa.string()),
])
def parquet(name, rows):
    table = pa.Table.from_pylist([{k: r.get(k) for k in schema.names} for r in rows], schema=schema)
    path = os.path.join(out, 'data', f'{name}-00000-of-00001.parquet')
    os.makedirs(os.path.dirname(path), exist_ok=True)
    pq.write_table(table, path, row_group_size=8)
parquet('train', faq + glossary)
parquet('test', paraphrase)
parquet('sts', sts + reversed_pairs(sts))
parquet('clustering', fields + reversed_pairs(fields))
with open(os.path.join(out, 'README.md'), 'w', encoding='utf-8') as f:
    f.write('''# Research sample dataset (Parquet)

Written for llm-retriever-data from its own sample corpus (examples/data, MIT). Splits from
`data/{split}-00000-of-00001.parquet` names, in `load_dataset`'s order: train (normal, teacher
scores with nulls), test (only_1neg), then the others sorted: clustering, sts. Row groups of 8 rows.
Built by ../build.py.
''')
