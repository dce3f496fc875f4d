// Worker thread entry when the library runs from its TypeScript sources (a checkout, no build): the
// same light TypeScript loader as the main thread, then the worker itself. The built package starts
// its workers from batchWorker.js directly (see workerBatches.ts).
import '../cli/register.mjs';

await import('./batchWorker.ts');
