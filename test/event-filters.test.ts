/**
 * Filters an events array remembers (src/domain/event-pages.ts) ride on a
 * cached execution for its whole life, outside the cache's size: what each
 * keeps must not grow with the lists a request sends.
 */
import { describe, expect, it } from 'vitest';
import { pageEvents, type EventOrder } from '../src/domain/event-pages.js';
import { eventIdOf, type Execution } from '../src/domain/execution.js';
import { heapAfterCollection } from './support/heap.js';


const events = Array.from({ length: 200 }, (_, i) => ({
  id: `ev_${i}`,
  createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
  level: i % 3 ? 'info' : 'error',
  eventType: 'node.completed',
  nodeId: `node_${i % 7}`,
}));

describe('remembered event filters', () => {
  it('keep a fixed size however long the filter\'s lists: 32 filters of 200,000 characters each hold well under 1 MB', () => {
    const execution: Execution = { id: 'ex_filters', source: { id: 'ex_filters', status: 'workflow_running' }, events, bodyBytes: 0 };
    // The index (orderings) is made before the measure, so only the remembered filters count.
    for (const order of ['ASC', 'DESC'] as EventOrder[]) pageEvents(execution, { first: 1, order, filter: { levels: ['info'] } });
    const before = heapAfterCollection();
    for (let i = 0; i < 32; i++) {
      const order: EventOrder = i % 2 ? 'ASC' : 'DESC';
      const page = pageEvents(execution, { first: 0, order, filter: { nodeIds: [`${'n'.repeat(200_000)}${i}`, 'node_1'] } });
      expect(page.totalCount).toBe(events.filter((event) => event.nodeId === 'node_1').length);
    }
    const grown = heapAfterCollection() - before;
    expect(grown).toBeLessThan(1_000_000);
    // Still remembered, by digest: the same long filter again finds the same events.
    const again = pageEvents(execution, { first: 100, order: 'ASC', filter: { nodeIds: [`${'n'.repeat(200_000)}1`, 'node_1'] } });
    const expected = events.filter((event) => event.nodeId === 'node_1');
    expect([again.totalCount, again.edges.length]).toEqual([expected.length, expected.length]);
    expect(again.edges.map((edge) => eventIdOf(edge.node.source, edge.node.position))).toEqual(expected.map((event) => event.id));
    expect(execution.events).toBe(events);
  });
});
