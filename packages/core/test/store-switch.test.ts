import { describe, expect, it } from 'vitest';
import { EntryCodec } from '../src/entry-codec.js';
import type { StoreEvent } from '../src/events.js';
import { resolveCacheOptions } from '../src/options.js';
import { Recorder } from '../src/recorder.js';
import { StoreBinding } from '../src/store-binding.js';
import { StoreSwitch } from '../src/store-switch.js';
import { createMemoryStore } from '../src/stores/memory.js';
import type { CacheStore } from '../src/stores/store.js';

function setup() {
  const config = resolveCacheOptions({ namespace: 'unit' });
  const recorder = new Recorder(undefined, undefined, undefined, undefined);
  const events: StoreEvent[] = [];
  recorder.events.on('store', (event) => events.push(event));
  const closed: string[] = [];
  const codec = new EntryCodec(undefined, undefined);
  let opened = 0;
  const bind = () => {
    const store = createMemoryStore();
    const name = `store ${opened++}`;
    const close = store.close.bind(store);
    store.close = async () => {
      closed.push(name);
      await close();
    };
    return new StoreBinding(store as CacheStore, config, codec, recorder, () => false);
  };
  return { switcher: new StoreSwitch(bind, undefined, recorder, 200), events, closed };
}

describe('StoreSwitch', () => {
  it('swaps at once, and closes the old store only after the calls that entered it left', async () => {
    const { switcher, events, closed } = setup();
    const old = switcher.current;
    old.enter();
    old.enter();
    const retired = switcher.swap('memory://', 60_000);
    expect(switcher.current).not.toBe(old);
    await new Promise((resolve) => setTimeout(resolve, 20));
    old.leave();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(closed).toEqual([]);
    old.leave();
    await retired;
    expect(closed).toEqual(['store 0']);
    expect(events).toEqual([expect.objectContaining({ previous: 'memory', current: 'memory', drained: true })]);
  });

  it('stops waiting at the drain timeout, and close() hurries every retiring store', async () => {
    const timed = setup();
    timed.switcher.current.enter();
    await timed.switcher.swap('memory://', 10);
    expect(timed.events[0]?.drained).toBe(false);
    expect(timed.closed).toEqual(['store 0']);

    const hurried = setup();
    hurried.switcher.current.enter();
    const retired = hurried.switcher.swap('memory://', 3_600_000);
    await hurried.switcher.close();
    await retired;
    expect(hurried.closed).toEqual(['store 0', 'store 1']);
    expect(hurried.events[0]?.drained).toBe(false);
  });

  it('keeps the current store when the new one cannot be opened', () => {
    const { switcher } = setup();
    const before = switcher.current;
    const failing = new StoreSwitch(
      (input) => {
        if (input !== undefined) throw new Error('cannot open');
        return before;
      },
      undefined,
      new Recorder(undefined, undefined, undefined, undefined),
      200,
    );
    expect(() => failing.swap('memory://', 10)).toThrow('cannot open');
    expect(failing.current).toBe(before);
  });
});
