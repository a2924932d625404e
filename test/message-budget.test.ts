/** The token bucket of WS_MAX_MESSAGES_PER_SECOND and WS_MAX_UPGRADES_PER_SECOND (src/server/message-budget.ts), on a clock the test moves. */
import { describe, expect, it } from 'vitest';
import { MessageBudget } from '../src/server/message-budget.js';

describe('MessageBudget', () => {
  it('takes a burst at once, then one message per 1000 / perSecond ms, and never saves up more than the burst', () => {
    let now = 0;
    const budget = new MessageBudget(10, 30, () => now);
    const taken = (count: number) => Array.from({ length: count }, () => budget.take()).filter(Boolean).length;
    expect(taken(31)).toBe(30);
    expect(budget.take()).toBe(false);
    now += 99;
    expect(budget.take()).toBe(false);
    now += 1;
    expect(budget.take()).toBe(true);
    expect(budget.take()).toBe(false);
    // A refused message spends nothing: the next one is taken as soon as the rate allows.
    now += 100;
    expect(budget.take()).toBe(true);
    // An hour quiet is worth the burst, no more.
    now += 3_600_000;
    expect(taken(100)).toBe(30);
  });

  it('lets a steady rate at the limit through for ever', () => {
    let now = 0;
    const budget = new MessageBudget(1_000, 1_000, () => now);
    let taken = 0;
    for (let i = 0; i < 100_000; i++) {
      now += 1;
      if (budget.take()) taken++;
    }
    expect(taken).toBe(100_000);
  });

  it('says how long until take() succeeds: 0 while tokens are left, then the time to the next one', () => {
    let now = 0;
    const budget = new MessageBudget(4, 1, () => now);
    expect(budget.waitMs()).toBe(0);
    expect(budget.take()).toBe(true);
    expect(budget.waitMs()).toBe(250);
    now += 100;
    expect(budget.waitMs()).toBe(150);
    now += 150;
    expect(budget.waitMs()).toBe(0);
    expect(budget.take()).toBe(true);
  });
});
