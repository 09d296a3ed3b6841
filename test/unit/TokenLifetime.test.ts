import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { TokenLifetime } from '../../src/server/TokenLifetime.js';

const DAY = 86_400_000;

describe('TokenLifetime', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  function lifetime() {
    const calls: string[] = [];
    const clock = new TokenLifetime(30_000, 2_000, { warn: (endsAt) => calls.push(`warn ${endsAt}`), expire: () => calls.push('expire') });
    return { clock, calls };
  }

  it('warns noticeMs before exp + tolerance, and expires at exp + tolerance', () => {
    jest.useFakeTimers({ now: 1_000_000 });
    const { clock, calls } = lifetime();
    clock.set(1_000_000 + 60_000);
    jest.advanceTimersByTime(60_000 + 2_000 - 30_000 - 1);
    expect(calls).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(calls).toEqual([`warn ${1_000_000 + 62_000}`]);
    jest.advanceTimersByTime(30_000);
    expect(calls).toEqual([`warn ${1_000_000 + 62_000}`, 'expire']);
  });

  it('a token expiring past setTimeout’s 24.8-day limit still ends at its exp, not at once', () => {
    jest.useFakeTimers({ now: 0 });
    const { clock, calls } = lifetime();
    clock.set(40 * DAY);
    jest.advanceTimersByTime(2 ** 31);
    expect(calls).toEqual([]);
    jest.advanceTimersByTime(40 * DAY + 2_000 - 2 ** 31);
    expect(calls).toEqual([`warn ${40 * DAY + 2_000}`, 'expire']);
  });

  it('a refresh moves both; undefined (no exp) and stop() clear them', () => {
    jest.useFakeTimers({ now: 0 });
    const { clock, calls } = lifetime();
    clock.set(10_000);
    clock.set(100_000);
    jest.advanceTimersByTime(50_000);
    expect(calls).toEqual([]);
    clock.set(undefined);
    jest.advanceTimersByTime(DAY);
    expect(calls).toEqual([]);
    clock.set(DAY + 40_000);
    clock.stop();
    clock.stop();
    jest.advanceTimersByTime(DAY);
    expect(calls).toEqual([]);
  });
});
