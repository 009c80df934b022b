/** The batch's pure rules: the failure breaker's threshold, as AWS SSM reads MaxErrors. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { errorThreshold } from '../src/shared/fleet';

it('reads --max-errors as a count or a share of the batch', () => {
  assert.equal(errorThreshold('0', 40), 0);
  assert.equal(errorThreshold('3', 40), 3);
  assert.equal(errorThreshold('10%', 40), 4);
  assert.equal(errorThreshold('10%', 9), 0, 'rounded down: 10% of 9 pauses at the first error');
  assert.equal(errorThreshold('100%', 7), 7);
  assert.throws(() => errorThreshold('abc', 10), /count \("3"\) or a percentage \("10%"\)/);
  assert.throws(() => errorThreshold('150%', 10), /at most 100%/);
  assert.throws(() => errorThreshold('-1', 10), /count/);
});
