/**
 * What the HTTP edge keeps about answers in flight, over real sockets: the
 * drain's count of responses (src/server/drain.ts) and the stall watch of
 * each answer's connection (src/server/stalled-clients.ts). Both keep their
 * state in place, never an entry per request in a long-lived Set or Map (docs/performance.md
 * "Collection at a higher rate"), so these pin what that state must still do.
 */
import { Agent, createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { RequestsInFlight } from '../src/server/drain.js';
import { StalledClients } from '../src/server/stalled-clients.js';
// waitFor's own 10 s, not 2: the waits guard a hang only, and a loaded machine can take past 2 s for a loopback request.
import { waitFor } from './support/live.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A loopback server whose handler only hands each request to `onRequest`. */
async function serving(onRequest: (request: IncomingMessage, response: ServerResponse) => void): Promise<number> {
  const server = createServer(onRequest);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** A loopback server whose every response the drain's count tracks; `held` has them in arrival order, unanswered. */
async function tracking(): Promise<{ requests: RequestsInFlight; held: ServerResponse[]; port: number; server: Server }> {
  const requests = new RequestsInFlight();
  const held: ServerResponse[] = [];
  const port = await serving((_request, response) => {
    requests.track(response, 'req-test');
    held.push(response);
  });
  return { requests, held, port, server: servers.at(-1)! };
}

/** A GET's `Connection` header and body, sent through a keep-alive `agent`. */
function get(port: number, agent: Agent): Promise<{ connection: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: '127.0.0.1', port, path: '/', agent }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ connection: response.headers.connection, body }));
    });
    request.on('error', reject).end();
  });
}

describe('the drain\'s count of responses in flight', () => {
  it('counts responses ending in any order, takes a freed place again, and tells each one not yet started of a drain', async () => {
    const { requests, held, port } = await tracking();
    const agent = new Agent({ keepAlive: true });
    onTestFinished(() => agent.destroy());
    const answers = [get(port, agent), get(port, agent), get(port, agent)];
    await waitFor(() => held.length === 3, 'three requests');
    expect(requests.count).toBe(3);

    // The middle one ends first; a fourth then arrives.
    held[1]!.end('second');
    expect(await answers[1]).toEqual({ connection: 'keep-alive', body: 'second' });
    await waitFor(() => requests.count === 2, 'the second response to close');
    answers.push(get(port, agent));
    await waitFor(() => held.length === 4, 'a fourth request');
    expect(requests.count).toBe(3);

    // Started before the drain: its head went out without `connection: close`.
    held[0]!.writeHead(200);
    held[0]!.write('first');
    requests.unready();
    let settled = false;
    const whenSettled = requests.settled().then(() => (settled = true));
    held[2]!.end('third');
    held[3]!.end('fourth');
    expect(await answers[2]).toEqual({ connection: 'close', body: 'third' });
    expect(await answers[3]).toEqual({ connection: 'close', body: 'fourth' });
    expect(settled).toBe(false);
    held[0]!.end();
    expect(await answers[0]).toEqual({ connection: 'keep-alive', body: 'first' });
    await whenSettled;
    expect(requests.count).toBe(0);

    // After the drain started, a new response says `connection: close` as soon as it is tracked.
    const late = get(port, agent);
    await waitFor(() => held.length === 5, 'a fifth request');
    held[4]!.end('late');
    expect(await late).toEqual({ connection: 'close', body: 'late' });
  });
});

describe('connections once the listener closed', () => {
  it("closes a kept-alive connection once the answer it carried when the listener closed has ended", async () => {
    const { requests, held, port, server } = await tracking();
    // Longer than the test: a connection closed within it was closed by the drain, not by the timeout.
    server.keepAliveTimeout = 60_000;
    const accepted: Socket[] = [];
    server.on('connection', (socket: Socket) => accepted.push(socket));
    const agent = new Agent({ keepAlive: true });
    onTestFinished(() => agent.destroy());
    const streamed = get(port, agent);
    await waitFor(() => held.length === 1, 'the request');
    // Its head went out before the drain, so it cannot say `connection: close`.
    held[0]!.writeHead(200);
    held[0]!.write('streamed');
    let closed = false;
    accepted[0]!.once('close', () => (closed = true));
    // As the drain does: the listener closes (node closes the connections idle then), then the requests are told.
    server.close();
    requests.closing(server);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(closed).toBe(false);
    held[0]!.end();
    expect(await streamed).toEqual({ connection: 'keep-alive', body: 'streamed' });
    await waitFor(() => closed, "the connection to close once its answer ended");
    expect(requests.finishedWhileClosing).toBe(1);
  });
});

describe('the stall watch of a kept-alive connection', () => {
  it('watches each answer on the connection while it is written, and nothing between them', async () => {
    const stalled = new StalledClients(10_000);
    const held: ServerResponse[] = [];
    const sockets = new Set<Socket>();
    const cut: number[] = [];
    const port = await serving((request, response) => {
      const answer = held.length;
      sockets.add(request.socket);
      stalled.watchAnswer(response, request.socket, () => cut.push(answer));
      held.push(response);
    });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let answer = 0; answer < 3; answer++) {
        const got = get(port, agent);
        await waitFor(() => held.length === answer + 1, `request ${answer + 1}`);
        expect(stalled.size).toBe(1);
        held[answer]!.end(`answer ${answer}`);
        expect((await got).body).toBe(`answer ${answer}`);
        await waitFor(() => stalled.size === 0, `answer ${answer + 1} to close`);
      }
      // One connection carried all three, and none of them was taken for a stalled one.
      expect(sockets.size).toBe(1);
      expect(cut).toEqual([]);
    } finally {
      agent.destroy();
      stalled.close();
    }
  });

  it('calls only the callback of the answer being written when its connection stalls', async () => {
    const stalled = new StalledClients(200);
    const cut: string[] = [];
    const port = await serving((request, response) => {
      const which = request.url ?? '';
      stalled.watchAnswer(response, request.socket, () => {
        cut.push(which);
        request.socket.destroy();
      });
      // The first is answered at once; the second is far larger than what the client, which reads nothing, takes.
      if (which === '/first') response.end('first');
      else response.end(Buffer.alloc(64 * 1024 * 1024));
    });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await new Promise<string>((resolve, reject) => {
        httpRequest({ host: '127.0.0.1', port, path: '/first', agent }, (response) => {
          let body = '';
          response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk)).on('end', () => resolve(body));
        })
          .on('error', reject)
          .end();
      });
      expect(first).toBe('first');
      // The second on the same connection, never read: its writes wait for a drain that never comes.
      httpRequest({ host: '127.0.0.1', port, path: '/second', agent }, (response) => response.pause()).on('error', () => undefined).end();
      await waitFor(() => cut.length > 0, 'the stalled connection to be cut', 5_000);
      expect(cut).toEqual(['/second']);
    } finally {
      agent.destroy();
      stalled.close();
    }
  });
});
