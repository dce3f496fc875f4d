/**
 * Atomic file writes for Arrow shards and dataset folders: the package's one implementation lives
 * in lib/core/atomicFile.ts (random exclusive temporary names, no link following, fsync, rename).
 *
 * @module
 */
export { atomicWriteFile, openAtomic, temporaryPathFor, type AtomicFile, type AtomicFileOptions } from '../core/atomicFile.js';
