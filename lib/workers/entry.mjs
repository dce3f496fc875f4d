// Worker thread entry: the same light TypeScript loader as the main thread, then the worker itself.
import '../cli/register.mjs';

await import('./batchWorker.ts');
