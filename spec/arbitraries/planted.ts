/**
 * Corpora with planted duplicates: every text unique by construction, then some texts copied into
 * other slots (a positive planted as another record's negative or positive, a negative shared, a
 * record's positive planted among its own negatives). Every equality of texts is then a plant.
 */
import fc from 'fast-check';
import type { Example } from '../../lib/core/model.js';
import type { SourcedExample } from '../../lib/sources/taskFiles.js';

/** Where a text sits: record `record` of file `file`, its `pos` or `neg` list, entry `at`. */
export interface Slot {
  readonly file: number;
  readonly record: number;
  readonly list: 'pos' | 'neg';
  readonly at: number;
}

/** One plant: the text at `from` copied into `to` (in the same file: records of one step share a task). */
export interface Plant {
  readonly kind: 'positiveAsNegative' | 'sharedPositive' | 'sharedNegative' | 'ownNegativeIsPositive';
  readonly from: Slot;
  readonly to: Slot;
}

export interface PlantedCorpus {
  readonly records: ReadonlyArray<SourcedExample>;
  readonly plants: ReadonlyArray<Plant>;
  /** Every text that was copied somewhere. */
  readonly plantedTexts: ReadonlySet<string>;
}

const shapes = fc.array(
  fc.array(fc.record({ positives: fc.integer({ min: 1, max: 3 }), negatives: fc.integer({ min: 1, max: 6 }) }), { minLength: 4, maxLength: 14 }),
  { minLength: 1, maxLength: 2 },
);

const kinds = ['positiveAsNegative', 'sharedPositive', 'sharedNegative', 'ownNegativeIsPositive'] as const;

/**
 * 1–2 `normal` task files of 4–14 records (1–3 positives, 1–6 negatives: short lists are tiled) and
 * up to 8 plants. A slot is the target of at most one plant and never the source of another, so
 * each plant's text is the base text of its source.
 */
export const plantedCorpus = (options: { readonly typed?: boolean } = {}): fc.Arbitrary<PlantedCorpus> =>
  shapes.chain((files) =>
    fc
      .array(
        fc.record({ kind: fc.constantFrom(...kinds), file: fc.nat(), a: fc.nat(), b: fc.nat(), k: fc.nat(), m: fc.nat() }),
        { maxLength: 8 },
      )
      .map((raw) => {
        const texts = files.map((records, f) =>
          records.map((r, i) => ({
            query: `query ${f}.${i}`,
            pos: Array.from({ length: r.positives }, (_, k) => `positive ${f}.${i}.${k}`),
            neg: Array.from({ length: r.negatives }, (_, k) => `negative ${f}.${i}.${k}`),
          })),
        );
        const plants: Plant[] = [];
        const key = (s: Slot) => `${s.file}:${s.record}:${s.list}:${s.at}`;
        const targets = new Set<string>();
        const sources = new Set<string>();
        for (const p of raw) {
          const file = p.file % files.length;
          const n = files[file]!.length;
          const a = p.a % n;
          const b = p.kind === 'ownNegativeIsPositive' ? a : (a + 1 + (p.b % (n - 1))) % n;
          const fromList = p.kind === 'sharedNegative' ? 'neg' : 'pos';
          const toList = p.kind === 'sharedPositive' ? 'pos' : 'neg';
          const from: Slot = { file, record: a, list: fromList, at: p.k % texts[file]![a]![fromList].length };
          const to: Slot = { file, record: b, list: toList, at: p.m % texts[file]![b]![toList].length };
          if (targets.has(key(to)) || sources.has(key(to)) || targets.has(key(from))) continue;
          targets.add(key(to));
          sources.add(key(from));
          plants.push({ kind: p.kind, from, to });
        }
        const plantedTexts = new Set<string>();
        for (const { from, to } of plants) {
          const text = texts[from.file]![from.record]![from.list][from.at]!;
          texts[to.file]![to.record]![to.list][to.at] = text;
          plantedTexts.add(text);
        }
        const records = texts.flatMap((file, f) =>
          file.map(
            (value, i): SourcedExample => ({
              file: `planted${f}.jsonl`,
              line: i + 1,
              record: i,
              origin: { entry: `planted${f}.jsonl`, entryIndex: f, inFolder: false },
              value: { ...value, pos: value.pos as unknown as Example['pos'], ...(options.typed === false ? {} : { type: 'normal', prompt: 'Find it.' }) },
            }),
          ),
        );
        return { records, plants, plantedTexts };
      }),
  );
