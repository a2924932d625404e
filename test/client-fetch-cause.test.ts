/**
 * A query the typed client could not send says why in its message, as a watch's failure does: Node's fetch said only
 * `fetch failed`, its reason (`connect ECONNREFUSED …`) left in `error.cause`, which a BFF logging `error.message`
 * never showed (found by the newcomer trial).
 */
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { expect, it } from 'vitest';
import { createGatewayClient, ExecutionStatusDocument, gatewayErrors } from '../src/client/index.js';

it('a query to a port nothing listens on fails with its cause in the message, the cause kept, and no gateway error', async () => {
  // A port just freed: nothing listens there.
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  const client = createGatewayClient(`http://127.0.0.1:${port}/graphql`, 'Bearer demo-token');
  const error = await client.request(ExecutionStatusDocument, { id: 'ex_demo_1' }).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(TypeError);
  expect((error as TypeError).message).toBe(`fetch failed (connect ECONNREFUSED 127.0.0.1:${port})`);
  expect((error as TypeError).cause).toMatchObject({ code: 'ECONNREFUSED' });
  expect(gatewayErrors(error)).toEqual([]);
});
