import { describe, expect, it } from 'vitest';
import { type BreakerState, CircuitBreaker } from '../src/breaker.js';

describe('CircuitBreaker', () => {
  function make(threshold = 3, cooldownMs = 1000) {
    let now = 0;
    const changes: string[] = [];
    const breaker = new CircuitBreaker({
      threshold,
      cooldownMs,
      now: () => now,
      onChange: (state: BreakerState, previous: BreakerState) => changes.push(`${previous}->${state}`),
    });
    return { breaker, changes, advance: (ms: number) => (now += ms) };
  }

  it('opens after consecutive failures and refuses calls during the cool-down', () => {
    const { breaker, changes } = make();
    breaker.failure();
    breaker.failure();
    expect(breaker.allow()).toBe(true);
    breaker.failure();
    expect(breaker.state).toBe('open');
    expect(breaker.allow()).toBe(false);
    expect(changes).toEqual(['closed->open']);
    expect(breaker.opens).toBe(1);
  });

  it('a success resets the count of consecutive failures', () => {
    const { breaker } = make();
    breaker.failure();
    breaker.failure();
    breaker.success();
    breaker.failure();
    breaker.failure();
    expect(breaker.state).toBe('closed');
  });

  it('lets one probe through after the cool-down; success closes, failure re-opens', () => {
    const { breaker, changes, advance } = make();
    for (let i = 0; i < 3; i++) breaker.failure();
    advance(1000);
    expect(breaker.allow()).toBe(true);
    expect(breaker.state).toBe('half-open');
    expect(breaker.allow()).toBe(false);
    breaker.failure();
    expect(breaker.state).toBe('open');
    expect(breaker.allow()).toBe(false);
    advance(1000);
    expect(breaker.allow()).toBe(true);
    breaker.success();
    expect(breaker.state).toBe('closed');
    expect(breaker.allow()).toBe(true);
    expect(changes).toEqual([
      'closed->open',
      'open->half-open',
      'half-open->open',
      'open->half-open',
      'half-open->closed',
    ]);
  });
});
