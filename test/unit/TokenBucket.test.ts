import { describe, expect, it } from '@jest/globals';
import { TokenBucket } from '../../src/lib/TokenBucket.js';

/** A clock the test moves by hand, in ms. */
function manualClock(start = 1_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

/** Takes until refused (at most `limit` times); returns how many were granted. */
function takeAll(bucket: TokenBucket, limit = 10_000): number {
  let granted = 0;
  while (granted < limit && bucket.take()) granted++;
  return granted;
}

describe('TokenBucket', () => {
  it('grants a full burst at once, then refuses while the clock stands still', () => {
    const clock = manualClock();
    const bucket = new TokenBucket(10, 5, clock.now);
    expect(takeAll(bucket)).toBe(5);
    expect(bucket.take()).toBe(false);
    expect(bucket.take()).toBe(false);
  });

  it('refills at the rate as time passes', () => {
    const clock = manualClock();
    const bucket = new TokenBucket(4, 2, clock.now);
    expect(takeAll(bucket)).toBe(2);
    clock.advance(250); // 4/s * 0.25 s = 1 token
    expect(bucket.take()).toBe(true);
    expect(bucket.take()).toBe(false);
    clock.advance(500); // 2 tokens
    expect(takeAll(bucket)).toBe(2);
  });

  it('accumulates fractions of a token across refused takes', () => {
    const clock = manualClock();
    const bucket = new TokenBucket(4, 1, clock.now);
    expect(bucket.take()).toBe(true);
    clock.advance(125); // half a token
    expect(bucket.take()).toBe(false);
    clock.advance(125); // the other half
    expect(bucket.take()).toBe(true);
    expect(bucket.take()).toBe(false);
  });

  it('never holds more than the burst, however long it was idle', () => {
    const clock = manualClock();
    const bucket = new TokenBucket(100, 3, clock.now);
    expect(takeAll(bucket)).toBe(3);
    clock.advance(3_600_000);
    expect(takeAll(bucket)).toBe(3);
  });

  it('sustains the rate over time and no more', () => {
    const clock = manualClock();
    const bucket = new TokenBucket(50, 10, clock.now);
    takeAll(bucket);
    let granted = 0;
    for (let ms = 0; ms < 2_000; ms += 10) {
      clock.advance(10);
      granted += takeAll(bucket);
    }
    expect(granted).toBe(100); // 50/s for 2 s
  });

  it('a rate of 0 turns limiting off', () => {
    const clock = manualClock();
    const bucket = new TokenBucket(0, 1, clock.now);
    expect(takeAll(bucket, 10_000)).toBe(10_000);
  });

  it('uses the real clock when none is given', () => {
    const bucket = new TokenBucket(1, 2);
    expect(bucket.take()).toBe(true);
    expect(bucket.take()).toBe(true);
    // At 1 token per second, the next one is far more than this test's runtime away.
    expect(bucket.take()).toBe(false);
  });
});
