// withTimeout bounds every store operation except the in-process LRU's: the caller gets the operation's value or
// error, or STORE_TIMEOUT once the time is up, and no timer outlives the race.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isLlmemoError } from '../src/errors.js';
import { withTimeout } from '../src/timeout.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('withTimeout', () => {
  it("resolves the operation's value and clears its timer", async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const result = withTimeout(Promise.resolve('value'), 1000, () => 'late');
    expect(vi.getTimerCount()).toBe(1);
    await expect(result).resolves.toBe('value');
    expect(vi.getTimerCount()).toBe(0);
  });

  it("rejects with the operation's own error and clears its timer", async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const failure = new Error('connection reset');
    const result = withTimeout(Promise.reject(failure), 1000, () => 'late');
    await expect(result).rejects.toBe(failure);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects with STORE_TIMEOUT when the operation outlives the time, and swallows its late rejection', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    let fail: (error: Error) => void = () => {};
    const hanging = new Promise<string>((_, reject) => {
      fail = reject;
    });
    const unhandled = vi.fn();
    process.on('unhandledRejection', unhandled);
    try {
      const result = withTimeout(hanging, 1000, () => 'the store did not answer');
      const settled = expect(result).rejects.toSatisfy(
        (error) => isLlmemoError(error, 'STORE_TIMEOUT') && error.message === 'the store did not answer',
      );
      await vi.advanceTimersByTimeAsync(999);
      expect(vi.getTimerCount()).toBe(1);
      await vi.advanceTimersByTimeAsync(1);
      await settled;
      fail(new Error('too late'));
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).not.toHaveBeenCalled();
    } finally {
      process.off('unhandledRejection', unhandled);
    }
  });

  it('passes the operation through untouched when there is no bound', () => {
    const operation = Promise.resolve(1);
    expect(withTimeout(operation, Number.POSITIVE_INFINITY, () => 'never')).toBe(operation);
  });
});
