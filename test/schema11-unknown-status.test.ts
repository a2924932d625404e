/**
 * `ExecutionStatus.UNKNOWN`'s description, what codegen writes beside the union a frontend switches over, said only
 * "Upstream sent a status this schema does not know yet … Read `rawStatus` for the value as sent". UNKNOWN also
 * comes when upstream sent no status at all, and then `rawStatus` is null (README "When upstream data is odd"),
 * which a page that shows `rawStatus` in UNKNOWN's branch, as that description told it to, must handle.
 */
import { describe, expect, it } from 'vitest';
import { makeExecution } from '../src/demo/demo-data.js';
import { Harness } from './support/harness.js';

describe('ExecutionStatus.UNKNOWN describes every case it is served in', () => {
  it('says rawStatus is null when upstream sent no status, as the gateway serves it', async () => {
    const stored = makeExecution({ id: 'ex_nostatus', status: 'workflow_running' });
    delete (stored.execution as { status?: unknown }).status;
    const harness = await Harness.start({ upstream: { executions: [stored] } });
    try {
      const served = await harness.query<{ execution: { status: string; rawStatus: string | null } }>('{ execution(id: "ex_nostatus") { status rawStatus } }');
      expect(served.errors).toBeUndefined();
      expect(served.data!.execution).toEqual({ status: 'UNKNOWN', rawStatus: null });

      const introspected = await harness.query<{ __type: { enumValues: Array<{ name: string; description: string }> } }>(
        '{ __type(name: "ExecutionStatus") { enumValues { name description } } }',
      );
      const unknown = introspected.data!.__type.enumValues.find((value) => value.name === 'UNKNOWN')!.description;
      expect(unknown).toMatch(/no status/);
      expect(unknown).toMatch(/`rawStatus`[^.]*null/);
    } finally {
      await harness.close();
    }
  });
});
