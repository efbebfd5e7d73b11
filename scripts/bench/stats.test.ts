import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { percentile, summarize } from './stats';

describe('summarize', () => {
  it('gives the middle value of an odd sample and the mean of the middle two of an even one', () => {
    expect(summarize([5, 1, 3]).median).toBe(3);
    expect(summarize([4, 1, 3, 2]).median).toBe(2.5);
  });

  it('uses nearest-rank percentiles', () => {
    const sample = Array.from({ length: 100 }, (_, i) => i + 1);
    const s = summarize(sample);
    expect([s.p90, s.p99, s.min, s.max, s.count]).toEqual([90, 99, 1, 100, 100]);
    expect(percentile([7], 99)).toBe(7);
  });

  it('keeps every statistic within the sample range and ordered', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { minLength: 1 }), (xs) => {
        const s = summarize(xs);
        expect(s.min).toBeLessThanOrEqual(s.median);
        expect(s.median).toBeLessThanOrEqual(s.p90);
        expect(s.p90).toBeLessThanOrEqual(s.p99);
        expect(s.p99).toBeLessThanOrEqual(s.max);
        expect(xs).toContain(s.p90);
      }),
    );
  });

  it('refuses an empty sample and an out-of-range percentile', () => {
    expect(() => summarize([])).toThrow(/empty/);
    expect(() => percentile([1], 101)).toThrow(/0\.\.100/);
  });
});
