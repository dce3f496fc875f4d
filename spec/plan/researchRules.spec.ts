/** The research module reads `type` by substring: each rule on its own. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  researchAnswersWithCategory,
  researchBatchSize,
  researchFormatsPassages,
  researchGroupSize,
  researchMessages,
  researchTexts,
  researchUsesExamples,
} from '../../lib/plan/researchRules.js';

const options = { trainGroupSize: 8, symmetricTrainGroupSize: 4, maxClassNeg: 9 };

describe('research type rules (substrings, as data.py tests them)', () => {
  it('group sizes: symmetric with sts/clustering, only_1neg, symmetric with class, else train_group_size', () => {
    assert.equal(researchGroupSize('symmetric_sts', options), 4);
    assert.equal(researchGroupSize('symmetric_clustering_fine', options), 4);
    assert.equal(researchGroupSize('my_only_1neg_set', options), 2);
    assert.equal(researchGroupSize('symmetric_classification', options), 10);
    assert.equal(researchGroupSize('classification', options), 8, 'class without symmetric');
    assert.equal(researchGroupSize('sts', options), 8, 'sts without symmetric');
    assert.equal(researchGroupSize('normal', options), 8);
    assert.equal(researchGroupSize('symmetric_class', {}), 1001, 'default max_class_neg 1000');
  });

  it('examples: retrieval_use_examples, or clustering / sts / class anywhere in the type', () => {
    assert.equal(researchUsesExamples('normal', true), true);
    assert.equal(researchUsesExamples('normal', false), false);
    assert.equal(researchUsesExamples('classification', false), true);
    assert.equal(researchUsesExamples('lists', false), true, "'sts' in 'lists'");
    assert.equal(researchFormatsPassages('lists'), true);
    assert.equal(researchFormatsPassages('symmetric_class'), false);
    assert.equal(researchAnswersWithCategory('clustering'), true);
  });

  it("messages: one 'not in-batch' for symmetric class/clustering, else 'normal' per passage", () => {
    assert.deepEqual(researchMessages('symmetric_class', 12), ['not in-batch']);
    assert.deepEqual(researchMessages('symmetric_clustering', 3), ['not in-batch']);
    assert.deepEqual(researchMessages('symmetric_sts', 2), ['normal', 'normal']);
    assert.deepEqual(researchMessages('classification', 1), ['normal']);
  });

  it('batch sizes: symmetric_batch_size // world for symmetric first rows; the per-device size after load_from_disk', () => {
    const sizes = { perDeviceTrainBatchSize: 6, symmetricBatchSize: 13, worldSize: 2 };
    assert.equal(researchBatchSize('symmetric_sts', { ...sizes, fromDisk: false }), 6);
    assert.equal(researchBatchSize('normal', { ...sizes, fromDisk: false }), 6);
    assert.equal(researchBatchSize('symmetric_sts', { ...sizes, symmetricBatchSize: 20, fromDisk: false }), 10);
    assert.equal(researchBatchSize('symmetric_sts', { ...sizes, symmetricBatchSize: 20, fromDisk: true }), 6);
  });

  it('texts: a space after Response: only in the example join; literal </s> and <s> for budgets', () => {
    assert.deepEqual(researchTexts(false), { suffix: '\nResponse:', exampleJoin: '\nResponse: ', budgetSuffix: '\nResponse:</s>', budgetPrefix: '<s>' });
    assert.deepEqual(researchTexts(true), { suffix: '\n<response>', exampleJoin: '\n<response>', budgetSuffix: '\n<response></s>', budgetPrefix: '<s>' });
  });
});
