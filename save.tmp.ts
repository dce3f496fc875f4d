import { prepareResearchDataset } from './lib/sources/datasetSplits.ts';
const dir = process.argv[2]!;
const r = await prepareResearchDataset({ trainData: 'examples/research/jsonl-configs', saveToDisk: true, saveDiskPath: dir, numShards: 2, perDeviceTrainBatchSize: 6, symmetricBatchSize: 12, worldSize: 2 });
console.log(JSON.stringify(r.saved));
