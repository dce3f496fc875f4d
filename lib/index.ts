/**
 * llm-retriever-data: FlagEmbedding's LLM dense-retriever training batches as composable,
 * data-last async-iterable stages (IxJS), token for token identical to the reference.
 *
 * @module
 */
export type { Op } from './core/operator.js';
export { operator } from './core/operator.js';
export type * from './core/model.js';
export { ConfigError, FileError, InvariantError, RecordError, TokenizerError, asFileError, formatIssue, type Issue, type Location } from './core/errors.js';
export { MAX_IN_FLIGHT, MAX_PAD_MULTIPLE, MAX_PASSAGES_PER_STEP, MAX_WORKERS } from './core/limits.js';
export { withLock, type LockHolder, type LockOptions, type LockWait } from './core/lockFile.js';
export { collectReport, teeReport, type ReportEvent, type ReportSink } from './core/report.js';
export { noProgress, type ProgressSink, type ProgressTask, type ProgressUnit } from './core/progress.js';
export { compilePythonFormat, type PythonFormat } from './core/pythonFormat.js';
export { byCodePoint, codePointLength } from './core/pythonStrings.js';
export { mapConcurrent, type Step } from './core/mapConcurrent.js';
export { ConcatStore, MemoryStore, SelectStore, concatStores, memoryStore, metaOf, selectStore } from './core/store.js';
export {
  ResumeError,
  checkResumeState,
  configFingerprint,
  dataFingerprint,
  decodeResumeState,
  initialResumeState,
  legacyDataFingerprint,
  readResumeState,
  resumePlan,
  writeResumeState,
  type RunFingerprints,
} from './core/resume.js';

export {
  arrowSchemaOf,
  arrowTypeOf,
  describeFeature,
  featuresFromJson,
  featuresFromYaml,
  featuresOfArrowSchema,
  featuresToJson,
  listOf,
  sameFeature,
  structOf,
  value,
  type Feature,
  type Features,
  type ValueDtype,
} from './arrow/features.js';
export { recordBatchOf, rowsOf, valueAt, type Row } from './arrow/values.js';
export { indexIpcStream, readIpcBatches, type IpcBatchSpan, type IpcStreamIndex } from './arrow/ipcStream.js';
export { openSavedDataset, readSavedRows, type SavedDataset } from './arrow/savedDataset.js';
export {
  DEFAULT_BATCH_ROWS,
  createShardWriter,
  estimateRowBytes,
  fingerprintOfShards,
  parseFileSize,
  saveToDisk,
  shardBounds,
  shardFileName,
  writeDatasetState,
  type SaveToDiskOptions,
  type SavedFolder,
  type ShardSummary,
  type ShardWriter,
  type ShardWriterOptions,
} from './arrow/saveToDisk.js';
export { atomicWriteFile, openAtomic, type AtomicFile, type AtomicFileOptions } from './core/atomicFile.js';
export { IPC_END_OF_STREAM, ipcStreamEncoder, type IpcStreamEncoder } from './arrow/ipcMessages.js';

export { fromJsonl } from './sources/jsonl.js';
export { fromTaskFiles, listTaskFiles, type SourcedExample, type TaskFileRef, type TaskFilesOptions } from './sources/taskFiles.js';
export { indexTaskFiles, type IndexTaskFilesOptions } from './sources/indexTaskFiles.js';
export { defaultIndexCacheDir, indexTaskFile, loadTaskFileIndex, indexedStore, IndexedStore, READ_PROGRESS_BYTES, type FileIdentity, type IndexColumns, type IndexOptions, type TaskFileIndex } from './sources/taskIndex.js';
export { recordSpans, type RecordSpan, type SpanProblem } from './sources/recordSpans.js';
export { decodeExample, type Decoded, type DecodeExampleOptions } from './schema/record.js';

export { buildTaskList, type TaskList, type TaskListOptions } from './plan/taskList.js';
export { fileSummary, unionColumns } from './plan/fileSummary.js';
export {
  epochPlan,
  epochPlans,
  initialPlanState,
  refreshEpoch,
  type EpochPlan,
  type PlanOptions,
  type PlanState,
  type PlanTask,
  type PlannedBatch,
} from './plan/epochPlan.js';
export { applyChunkOrder, drawBatch, type DrawOptions, drawSliceKeyed, keyedDrawSeed, type BatchDraws, type BatchShape, type RecordDraw, type RecordShape } from './plan/batchDraws.js';

export { failOnIssues } from './stages/failOnIssues.js';
export { collectIssues } from './stages/collectIssues.js';
export { toTaskFiles } from './stages/toTaskFiles.js';
export { groupByTask, type GroupByTaskOptions } from './stages/groupByTask.js';
export { checkTasks, type CheckTasksOptions } from './stages/checkTasks.js';
export { checkTask, checkStepSize, KNOWN_TYPES, leaderGroupSize, type TaskCheckOptions } from './plan/taskChecks.js';
export { iclBudgets, type IclBudgets } from './plan/iclBudgets.js';
export { epochShuffle, type EpochShuffleOptions } from './stages/epochShuffle.js';
export { shardByRank, sliceForRank, type ShardOptions } from './stages/shardByRank.js';
export { readRecords } from './stages/readRecords.js';
export { prefetch } from './stages/prefetch.js';
export { sampleGroup, groupSizeOf, usesIcl, type SampleGroupOptions } from './stages/sampleGroup.js';
export { maskFalseNegatives, type FalseNegativeScope, type MaskFalseNegativesOptions } from './stages/maskFalseNegatives.js';
export { falseNegativeRows, maskGroupsOf, type MaskGroup } from './plan/falseNegatives.js';
export { formatPrompt, getQueryPrompt, instructionOf, type FormatPromptOptions } from './stages/formatPrompt.js';
export { augmentIcl, augmentIclWithDetail, buildExamplePrefixes, type AugmentIclOptions, type IclDetail } from './stages/augmentIcl.js';
export { tokenize, tokenizeWithDetail, withSpecialTokens, type TokenizeDetail, type TokenizeOptions } from './stages/tokenize.js';
export { pad, padRows, type PadOptions } from './stages/pad.js';

export { flagEmbeddingBatches, flagEmbeddingBatchesFromRecords, flagEmbeddingStages, type FlagEmbeddingOptions } from './pipelines/flagEmbeddingIcl.js';
export { RESEARCH_DEFAULTS, researchBatches, researchStageOptions, researchStages, type ResearchOptions } from './pipelines/research.js';
export { toDumpRecord, toResearchDumpRecord } from './sinks/dumpRecord.js';
export { batchBySplit, type BatchBySplitOptions } from './stages/batchBySplit.js';
export { loadDatasetSplits, prepareResearchDataset, type DatasetSplitsOptions } from './sources/datasetSplits.js';
export { loadResearchDataset, loadResearchFromDisk, RESEARCH_LOG, type DatasetSplit, type ResearchDataset, type ResearchLog } from './sources/researchDataset.js';
export { saveResearchDataset, type SaveResearchOptions, type SaveResult } from './sources/saveResearchDataset.js';
export { resolveDatasetFolder, type DatasetFormat, type DatasetSplitFiles, type ResolvedDataset } from './sources/datasetFolder.js';
export { globToRegExp, resolvePattern } from './sources/hfGlob.js';
export { castProblem, featureOfKind, kindOfFeature, kindOfJsonText, mergeKinds, mergeSchemas, schemaProblem, type Kind, type Schema as ColumnSchema } from './sources/hfSchema.js';
export { indexJsonRows, JSON_CHUNK_BYTES } from './sources/jsonRows.js';
export { indexParquetRows, parquetFeatures } from './sources/parquetRows.js';
export { indexSavedShards } from './sources/savedRows.js';
export type { RowChunk, RowFile } from './sources/rowFile.js';
export { decodeResearchRow } from './schema/researchRecord.js';
export {
  isSymmetricType,
  researchAnswersWithCategory,
  researchBatchSize,
  researchFormatsPassages,
  researchGroupSize,
  researchMessages,
  researchPromptFormat,
  researchTexts,
  researchUsesExamples,
  type ResearchTypeOptions,
} from './plan/researchRules.js';
export {
  dataStats,
  statsAccumulator,
  type BatchDetail,
  type DataStats,
  type DataStatsOptions,
  type Distribution,
  type StatsAccumulatorOptions,
  type TaskStats,
} from './stats/dataStats.js';
export { formatStats } from './stats/formatStats.js';
export { statsHtml } from './stats/statsHtml.js';
export {
  STEP_TABLE_METADATA_KEY,
  STEP_TABLE_VERSION,
  stepBatchBuilder,
  stepFeatures,
  stepRecordBatch,
  stepSchema,
  stepStreamEncoder,
  stepTableMetadata,
  type StepStreamEncoder,
  type StepTableOptions,
} from './sinks/stepTable.js';
export { toArrowStream } from './sinks/toArrowStream.js';
export {
  EXPORT_MANIFEST,
  exportSteps,
  rankSplit,
  type ExportManifest,
  type ExportStepsOptions,
  type ExportSummary,
  type ManifestShard,
  type ShardEvent,
} from './sinks/exportSteps.js';
export { planReport, formatPlanReport, type PlanReport, type PlanReportOptions, type PlannedTask, type GroupSizeRule } from './pipelines/planReport.js';

export * from './random/index.js';
export * from './tokenizers/index.js';
