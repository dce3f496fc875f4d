import { createHash } from 'node:crypto';
import { RecordError } from '../core/errors.js';
import type { Example, Located, TaskFile, TaskFileOrigin } from '../core/model.js';
import { operator, type Op } from '../core/operator.js';
import { memoryStore } from '../core/store.js';
import { fileSummary } from '../plan/fileSummary.js';
import type { SourcedExample } from '../sources/taskFiles.js';

/**
 * Gathers decoded records into in-memory task files (one per file and `train_data` entry, in
 * first-seen order), checking each file as the index does.
 *
 * **Details**: the path for records that do not come from `indexTaskFiles`: `fromTaskFiles` with an
 * issue policy, or any other source of {@link SourcedExample}s (a database, a test's generator).
 *
 * **Gotchas**: holds every record in memory (that is the point of it); for large corpora use
 * `indexTaskFiles`. A file with more than one type, or partial teacher scores, or a clustering
 * record without category, is a {@link RecordError}.
 *
 * @example
 * fromTaskFiles(trainData).pipe(failOnIssues(), toTaskFiles(), groupByTask(options));
 *
 * @category stages
 */
export const toTaskFiles = (): Op<SourcedExample, TaskFile> =>
  operator(async function* (records, signal) {
    const files = new Map<string, { file: string; origin: TaskFileOrigin; records: Located<Example>[]; summary: ReturnType<typeof fileSummary> }>();
    for await (const { origin, ...record } of records) {
      signal?.throwIfAborted();
      // Keyed by entry too: a file named twice in train_data is two tasks in the reference.
      const key = `${origin.entryIndex}\u0000${record.file}`;
      let file = files.get(key);
      if (file === undefined) {
        file = { file: record.file, origin, records: [], summary: fileSummary() };
        files.set(key, file);
      }
      const issue = file.summary.add(record);
      if (issue !== undefined) throw new RecordError([issue]);
      file.records.push(record);
    }
    for (const file of files.values()) {
      yield {
        file: file.file,
        origin: file.origin,
        summary: file.summary.summary(),
        store: memoryStore(file.records),
        fingerprint: createHash('sha256').update(JSON.stringify(file.records.map((r) => r.value))).digest('hex'),
      };
    }
  });
