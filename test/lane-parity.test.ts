/**
 * What a plugin sees and what a client gets are the same on both lanes, in the
 * corners the hook counts of test/pipeline-hooks.test.ts do not reach: a client
 * that leaves before its body arrived, `request.signal`, the request's URL
 * without a Host header, the `url` a hook is given, what the HTTP steps' setters
 * do (onRequest's, onRequestParse's and onResponse's), errors thrown as groups,
 * and bodiless answers (a plugin's 204, a CORS preflight). Requests go over raw sockets, so nothing between the test
 * and the gateway fixes anything up.
 */
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { afterEach, describe, expect, it } from 'vitest';
import { AUTH, Harness, LANES, type LaneName } from './support/harness.js';
import { rawExchange } from './support/raw-http.js';

const BODY = JSON.stringify({ query: '{ execution(id: "ex_demo_4") { id status } }' });

const started: Harness[] = [];
afterEach(async () => {
  for (const harness of started.splice(0)) await harness.close();
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves once `done()` holds, checked every 10 ms; fails after 5 s. */
async function until(done: () => boolean): Promise<void> {
  for (const started = Date.now(); !done(); await sleep(10)) if (Date.now() - started > 5_000) throw new Error('not in 5 s');
}

/** Raw HTTP/1.1 head of a POST of `length` bytes. */
function postHead(length: number, extra = ''): string {
  return `POST /graphql HTTP/1.1\r\nhost: gateway.test\r\ncontent-type: application/json\r\nauthorization: ${AUTH}\r\nconnection: close\r\ncontent-length: ${length}\r\n${extra}\r\n`;
}

/** What the client receives for BODY posted whole. */
function postQuery(harness: Harness): Promise<string> {
  return exchange(harness, postHead(Buffer.byteLength(BODY)) + BODY);
}

/** What the client receives for `bytes`; it hangs up after `leaveAfterMs` when given. */
async function exchange(harness: Harness, bytes: string, leaveAfterMs?: number): Promise<string> {
  return (await rawExchange(harness.url, bytes, leaveAfterMs === undefined ? {} : { leaveAfterMs })).text;
}

/** Status line and headers of a raw answer, without the date, lowercased names. */
function head(raw: string): { status: string; headers: Record<string, string>; body: string } {
  const [top = '', body = ''] = raw.split('\r\n\r\n');
  const [status = '', ...lines] = top.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).toLowerCase();
    if (name !== 'date' && name !== 'x-request-id') headers[name] = line.slice(colon + 1).trim();
  }
  return { status, headers, body };
}

/** Runs `drive` against a gateway on each lane with the plugins `make` gives, and returns what each recorded. */
async function onEachLane<T>(make: (seen: T[]) => Plugin[], drive: (harness: Harness, seen: T[]) => Promise<void>): Promise<Record<LaneName, T[]>> {
  const seen = {} as Record<LaneName, T[]>;
  for (const lane of LANES) {
    const record: T[] = [];
    const harness = await Harness.start({ lane, plugins: make(record), env: { UPSTREAM_EXTENSIONS: 'false' } });
    started.push(harness);
    await drive(harness, record);
    seen[lane] = record;
  }
  return seen;
}

/** A plugin set to steer a request with, by name; its hooks may record what they see. */
type Case = [name: string, make: (record: string[]) => Plugin[]];

/**
 * For each case, what its hooks recorded, then the client's status line and body and the
 * upstream calls made, asserted equal on both lanes; by case name.
 */
async function steered(cases: Case[]): Promise<Record<string, unknown[]>> {
  const answers: Record<string, unknown[]> = {};
  for (const [name, make] of cases) {
    const seen = await onEachLane<unknown>(
      (record) => make(record as string[]),
      async (harness, record) => {
        const answer = head(await postQuery(harness));
        record.push(answer.status, answer.body, harness.upstream.requests.length);
      },
    );
    expect(seen.fast, name).toEqual(seen.full);
    answers[name] = seen.fast;
  }
  return answers;
}

describe('lane parity', () => {
  it('a client that leaves before its body arrived meets the same hooks, and the access log, on both lanes', async () => {
    const seen = await onEachLane<string>(
      (record) => [
        {
          onRequest: () => void record.push('onRequest'),
          onRequestParse: () => void record.push('onRequestParse'),
          onParams: () => void record.push('onParams'),
          onResultProcess: () => void record.push('onResultProcess'),
          onResponse: () => void record.push('onResponse'),
        },
      ],
      async (harness, record) => {
        await exchange(harness, `${postHead(100)}{"query":`, 100);
        await sleep(300);
        const lines = harness.logs.filter((line) => line.component === 'access');
        record.push(`access log lines: ${lines.length}`, `status ${String(lines[0]?.status)}`);
      },
    );
    expect(seen.fast).toEqual(seen.full);
    expect(seen.fast).toEqual(['onRequest', 'onRequestParse', 'onResultProcess', 'onResponse', 'access log lines: 1', 'status 400']);
  });

  it("request.signal aborts when the client leaves, on both lanes", async () => {
    const seen = await onEachLane<string>(
      (record) => [
        {
          onRequest: ({ request }) => request.signal.addEventListener('abort', () => record.push('aborted')),
          // Keeps the request in flight while the client leaves.
          onParams: () => sleep(300),
        },
      ],
      async (harness) => {
        await exchange(harness, postHead(Buffer.byteLength(BODY)) + BODY, 100);
        await sleep(400);
      },
    );
    expect(seen.fast).toEqual(['aborted']);
    expect(seen.fast).toEqual(seen.full);
  });

  it('request.signal stays quiet for a request answered in full', async () => {
    const seen = await onEachLane<string>(
      (record) => [{ onRequest: ({ request }) => request.signal.addEventListener('abort', () => record.push('aborted')) }],
      async (harness, record) => {
        const answer = head(await postQuery(harness));
        await sleep(100);
        record.push(answer.status);
      },
    );
    expect(seen.fast).toEqual(['HTTP/1.1 200 OK']);
    expect(seen.fast).toEqual(seen.full);
  });

  it('a request without a Host header (HTTP/1.0) has the same URL on both lanes', async () => {
    const seen = await onEachLane<string>(
      (record) => [{ onRequest: ({ request }) => void record.push(request.url.replace(/:\d+\//, ':PORT/')) }],
      async (harness) => {
        const bytes = `POST /graphql HTTP/1.0\r\ncontent-type: application/json\r\nauthorization: ${AUTH}\r\ncontent-length: ${Buffer.byteLength(BODY)}\r\n\r\n${BODY}`;
        await exchange(harness, bytes);
      },
    );
    expect(seen.fast).toEqual(['http://127.0.0.1:PORT/graphql']);
    expect(seen.fast).toEqual(seen.full);
  });

  it("an onRequest hook's url is a URL on both lanes, and reads the request's", async () => {
    const seen = await onEachLane<string>(
      (record) => [{ onRequest: ({ url }) => void record.push(`${String(url instanceof URL)} ${url.pathname} ${url.host}`) }],
      async (harness) => void (await postQuery(harness)),
    );
    expect(seen.fast).toEqual(['true /graphql gateway.test']);
    expect(seen.fast).toEqual(seen.full);
  });

  it("an onRequestParse hook's url methods work on the fast lane, where Yoga's proxy throws on them; onRequest's work on both", async () => {
    const called = (record: string[], hook: string, url: URL) => {
      try {
        record.push(`${hook}: ${url.toString()}`);
      } catch {
        record.push(`${hook}: throws`);
      }
    };
    const seen = await onEachLane<string>(
      (record) => [{ onRequest: ({ url }) => called(record, 'onRequest', url), onRequestParse: ({ url }) => called(record, 'onRequestParse', url) }],
      async (harness) => void (await postQuery(harness)),
    );
    // The difference the fast lane's runner documents (src/fast-lane/runner.ts): should Yoga's proxy stop throwing, both lanes agree.
    expect(seen).toEqual({
      fast: ['onRequest: http://gateway.test/graphql', 'onRequestParse: http://gateway.test/graphql'],
      full: ['onRequest: http://gateway.test/graphql', 'onRequestParse: throws'],
    });
  });

  it('request.signal read only after the client left is aborted, and read only after the answer is not', async () => {
    // The hook reads the signal once the client is gone, however late the machine runs it.
    let clientGone: () => void = () => {};
    const seen = await onEachLane<string>(
      (record) => {
        const gone = new Promise<void>((resolve) => (clientGone = resolve));
        return [
          {
            onParams: async ({ request }) => {
              await gone;
              record.push(`after leaving: ${String(request.signal.aborted)}`);
            },
          },
        ];
      },
      async (harness, record) => {
        await exchange(harness, postHead(Buffer.byteLength(BODY)) + BODY, 100);
        await sleep(50);
        clientGone();
        await until(() => record.length > 0);
      },
    );
    expect(seen.fast).toEqual(['after leaving: true']);
    expect(seen.fast).toEqual(seen.full);

    const answered = await onEachLane<string>(
      (record) => [
        {
          onResponse: ({ request }) =>
            void setTimeout(() => {
              const { signal } = request;
              signal.addEventListener('abort', () => record.push('aborted'));
              record.push(`after the answer: ${String(signal.aborted)}`);
            }, 100),
        },
      ],
      async (harness, record) => {
        await postQuery(harness);
        await until(() => record.length > 0);
        // Room for an abort that should not come (the connection closes after the answer).
        await sleep(200);
      },
    );
    expect(answered.fast).toEqual(['after the answer: false']);
    expect(answered.fast).toEqual(answered.full);
  });

  it('onRequest setRequest, setRequestHandler and endResponse steer the request alike on both lanes; endResponse ends the walk', async () => {
    const idOnly = JSON.stringify({ query: '{ execution(id: "ex_demo_4") { id } }' });
    const cases: Case[] = [
      [
        'setRequest',
        (record) => [
          {
            onRequest: ({ request, setRequest, fetchAPI }) => {
              const headers = new fetchAPI.Headers(request.headers);
              headers.set('x-replaced', 'yes');
              headers.delete('content-length');
              setRequest(new fetchAPI.Request(request.url, { method: 'POST', headers, body: idOnly }));
            },
          },
          { onRequest: ({ request }) => void record.push(`later hook: x-replaced ${request.headers.get('x-replaced') ?? 'absent'}`) },
        ],
      ],
      [
        'setRequestHandler',
        () => [
          {
            onRequest: ({ setRequestHandler, fetchAPI }) =>
              setRequestHandler(() => new fetchAPI.Response('{"handled":true}', { status: 202, headers: { 'content-type': 'application/json' } })),
          },
        ],
      ],
      [
        'endResponse',
        (record) => [
          { onRequest: ({ endResponse, fetchAPI }) => endResponse(new fetchAPI.Response('early', { status: 418 })) },
          { onRequest: () => void record.push('later hook ran') },
        ],
      ],
    ];
    expect(await steered(cases)).toEqual({
      setRequest: ['later hook: x-replaced yes', 'HTTP/1.1 200 OK', '{"data":{"execution":{"id":"ex_demo_4"}}}', 1],
      setRequestHandler: ['HTTP/1.1 202 Accepted', '{"handled":true}', 0],
      endResponse: ['HTTP/1.1 418 I\'m a Teapot', 'early', 0],
    });
  });

  it('onRequestParse endResponse, a parser that answers and onRequestParseDone setRequestParserResult steer the request alike on both lanes', async () => {
    const cases: Case[] = [
      [
        'endResponse',
        (record) => [
          { onRequestParse: ({ endResponse, fetchAPI }) => endResponse(new fetchAPI.Response('refused', { status: 418 })) },
          { onRequestParse: () => void record.push('later hook ran') },
        ],
      ],
      ['a parser that answers', () => [{ onRequestParse: ({ setRequestParser, fetchAPI }) => setRequestParser(() => new fetchAPI.Response('parsed to an answer', { status: 422 })) }]],
      [
        'setRequestParserResult',
        () => [
          {
            onRequestParse: () => ({
              onRequestParseDone: ({ setRequestParserResult }) => setRequestParserResult({ query: '{ execution(id: "ex_demo_4") { status } }' }),
            }),
          },
        ],
      ],
    ];
    expect(await steered(cases)).toEqual({
      endResponse: ['HTTP/1.1 418 I\'m a Teapot', 'refused', 0],
      'a parser that answers': ['HTTP/1.1 422 Unprocessable Entity', 'parsed to an answer', 0],
      setRequestParserResult: ['HTTP/1.1 200 OK', '{"data":{"execution":{"status":"WORKFLOW_RUNNING"}}}', 1],
    });
  });

  it('onResponse setResponse replaces the answer on both lanes', async () => {
    const seen = await onEachLane<unknown>(
      () => [{ onResponse: ({ setResponse, fetchAPI }) => setResponse(new fetchAPI.Response('replaced', { status: 203 })) }],
      async (harness, record) => {
        const answer = head(await postQuery(harness));
        record.push(answer.status, answer.body);
      },
    );
    expect(seen.fast).toEqual(['HTTP/1.1 203 Non-Authoritative Information', 'replaced']);
    expect(seen.fast).toEqual(seen.full);
  });

  it('a one-byte body and an Accept nothing serves are answered the same on both lanes', async () => {
    const answers: Record<string, ReturnType<typeof head>> = {};
    for (const [name, bytes] of [
      ['one byte', `${postHead(1)}1`],
      ['Accept text/html', postHead(Buffer.byteLength(BODY), 'accept: text/html\r\n') + BODY],
    ] as const) {
      const seen = await onEachLane<ReturnType<typeof head>>(
        () => [],
        async (harness, record) => void record.push(head(await exchange(harness, bytes))),
      );
      expect(seen.fast, name).toEqual(seen.full);
      answers[name] = seen.fast[0]!;
    }
    expect(answers['one byte']!.status).toBe('HTTP/1.1 400 Bad Request');
    expect(answers['Accept text/html']!.status).toBe('HTTP/1.1 406 Not Acceptable');
    // The 406 names what would be served.
    expect(answers['Accept text/html']!.headers['accept']).toMatch(/^application\/json; charset=utf-8, /);
  });

  it('an error thrown as a group, whatever iterable holds it, answers the same on both lanes; an error met twice is one', async () => {
    const group = () => {
      const refused = new GraphQLError('refused by a plugin', { extensions: { code: 'REFUSED_BY_PLUGIN' } });
      return { errors: new Set<unknown>([refused, { errors: [refused] }]) };
    };
    const seen = await onEachLane<ReturnType<typeof head>>(
      () => [
        {
          onRequestParse: () => {
            throw group();
          },
        },
      ],
      async (harness, record) => void record.push(head(await postQuery(harness))),
    );
    expect(JSON.parse(seen.fast[0]!.body)).toEqual({ errors: [{ message: 'refused by a plugin', extensions: { code: 'REFUSED_BY_PLUGIN' } }] });
    expect(seen.fast).toEqual(seen.full);
  });

  it('a walk that met an asynchronous hook waits for each later one in turn, and stops where a hook ends it', async () => {
    const seen = await onEachLane<string>(
      (record) => [
        { onRequest: async () => void (await sleep(5), record.push('first')) },
        { onRequest: async () => void (await sleep(5), record.push('second')) },
        { onRequest: () => void record.push('third') },
        { onRequest: async ({ endResponse, fetchAPI }) => void (await sleep(5), endResponse(new fetchAPI.Response('ended', { status: 418 }))) },
        { onRequest: () => void record.push('after the end') },
      ],
      async (harness, record) => void record.push(head(await postQuery(harness)).status),
    );
    expect(seen.fast).toEqual(['first', 'second', 'third', "HTTP/1.1 418 I'm a Teapot"]);
    expect(seen.fast).toEqual(seen.full);
  });

  it('a DOMException AbortError or TimeoutError a hook throws is dropped, as Yoga drops it, not reported as a failure', async () => {
    for (const name of ['AbortError', 'TimeoutError']) {
      const seen = await onEachLane<unknown>(
        () => [
          {
            onParams: () => {
              throw new DOMException('the client is gone', name);
            },
          },
        ],
        async (harness, record) => {
          const answer = head(await postQuery(harness));
          record.push(answer.status, answer.body, harness.logs.filter((line) => line.level === 50).length);
        },
      );
      expect(seen.fast, name).toEqual(seen.full);
      expect(JSON.stringify(seen.fast), name).not.toMatch(/Unexpected error|client is gone/);
    }
  });

  it('an Error a hook throws is masked and logged once, with its message, on both lanes', async () => {
    const seen = await onEachLane<unknown>(
      () => [
        {
          onParams: () => {
            throw new Error('secret detail');
          },
        },
      ],
      async (harness, record) => {
        const answer = head(await postQuery(harness));
        const logged = harness.logs.filter((line) => line.level === 50).map((line) => (line['err'] as { message?: string } | undefined)?.message);
        record.push(answer.status, answer.body, logged);
      },
    );
    expect(seen.fast).toEqual(['HTTP/1.1 500 Internal Server Error', expect.not.stringMatching(/secret detail/), ['secret detail']]);
    expect(seen.fast).toEqual(seen.full);
  });

  it("a plugin's answer keeps its status text and each cookie on both lanes; the fast lane sends the length of the body it sends", async () => {
    const seen = await onEachLane<string>(
      () => [
        {
          onResponse: ({ setResponse, fetchAPI }) => {
            const headers = new fetchAPI.Headers({ 'content-type': 'text/plain', 'X-Mixed-Case': 'kept' });
            headers.append('set-cookie', 'a=1; Path=/');
            headers.append('set-cookie', 'b=2; Path=/');
            setResponse(new fetchAPI.Response('short and stout', { status: 418, statusText: 'Short And Stout', headers }));
          },
        },
      ],
      async (harness, record) => {
        const raw = await postQuery(harness);
        const lines = raw.split('\r\n\r\n')[0]!.split('\r\n');
        record.push(lines[0]!, ...lines.filter((line) => /^(set-cookie|x-mixed-case):/i.test(line)).map((line) => line.toLowerCase()).sort());
      },
    );
    expect(seen.fast).toEqual(['HTTP/1.1 418 Short And Stout', 'set-cookie: a=1; path=/', 'set-cookie: b=2; path=/', 'x-mixed-case: kept']);
    expect(seen.fast).toEqual(seen.full);

    const lengths = await onEachLane<string>(
      () => [{ onResponse: ({ response }) => response.headers.set('Content-Length', '999') }],
      async (harness, record) => {
        const raw = await postQuery(harness);
        const [top = '', body = ''] = raw.split('\r\n\r\n');
        record.push(...top.split('\r\n').filter((line) => /^content-length:/i.test(line)), `body ${Buffer.byteLength(body)}`);
      },
    );
    // One Content-Length, the body's; Yoga's own adapter sends what the plugin left (src/fast-lane/runner.ts).
    const sent = Number(lengths.fast.at(-1)!.slice('body '.length));
    expect(lengths.fast).toEqual([`content-length: ${sent}`, `body ${sent}`]);
  });

  it('a 204 a plugin answers carries no Content-Length on either lane', async () => {
    const seen = await onEachLane<ReturnType<typeof head>>(
      () => [{ onRequest: ({ endResponse, fetchAPI }) => endResponse(new fetchAPI.Response(null, { status: 204 })) }],
      async (harness, record) => void record.push(head(await postQuery(harness))),
    );
    expect(seen.fast[0]!.status).toBe('HTTP/1.1 204 No Content');
    expect(seen.fast[0]!.headers['content-length']).toBeUndefined();
    expect(seen.fast).toEqual(seen.full);
  });

  it.each([
    ['CORS off', {}, undefined],
    ['a listed origin', { CORS_ORIGINS: 'http://app.test' }, 'http://app.test'],
  ])('a CORS preflight (%s) answers 204 with the same headers on both lanes, and no Content-Length', async (_name, env, allowed) => {
    const seen = {} as Record<LaneName, ReturnType<typeof head>>;
    for (const lane of LANES) {
      const harness = await Harness.start({ lane, env });
      started.push(harness);
      seen[lane] = head(
        await exchange(
          harness,
          'OPTIONS /graphql HTTP/1.1\r\nhost: gateway.test\r\norigin: http://app.test\r\naccess-control-request-method: POST\r\naccess-control-request-headers: content-type, authorization\r\nconnection: close\r\n\r\n',
        ),
      );
      expect(harness.upstream.requests).toHaveLength(0);
    }
    expect(seen.full.status).toBe('HTTP/1.1 204 No Content');
    expect(seen.full.headers['content-length']).toBeUndefined();
    expect(seen.full.headers['access-control-allow-origin']).toBe(allowed);
    expect(seen.fast).toEqual(seen.full);
  });
});
