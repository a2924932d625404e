/**
 * The fast lane (src/fast-lane/) as a lane of its own: which plugins it agrees
 * to run, and the compiled execution it adds (./compiled-execution.ts), over
 * HTTP against the full lane, which runs the same pipeline on graphql-js.
 *
 * A plugin with a hook the lane cannot run is refused when the gateway is made
 * (FastLaneError, naming plugin and hook), never silently left out; the process
 * (`npm start`) then stops with that one line. Operators register plugins in
 * code, not through the environment, so these tests make the gateway here.
 */
import fc from 'fast-check';
import { defaultFieldResolver, getIntrospectionQuery, getOperationAST, getVariableValues, isObjectType, parse, type GraphQLFieldResolver } from 'graphql';
import { compileQuery } from 'graphql-jit';
import type { Plugin } from 'graphql-yoga';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { defaultOperationLimits, readConfig } from '../src/config.js';
import { expandedFields, MAX_COMPILED_FIELDS, WARM_UP_RUNS } from '../src/fast-lane/compiled-execution.js';
import { createFastLane, FastLaneError, unrunnableHooks } from '../src/fast-lane/index.js';
import { createLogger } from '../src/logger.js';
import { createInstance } from '../src/server/instance.js';
import { AUTH, Harness, LANES, type LaneName } from './support/harness.js';

/** The operation limits as their settings default them (src/config.ts, OPERATION_MAX_*): the gateways here set none. */
const OPERATION_LIMITS = defaultOperationLimits();

// The real graphql-jit, watched: which operations the gateway compiles.
vi.mock('graphql-jit', async (importOriginal) => {
  const original = await importOriginal<typeof import('graphql-jit')>();
  return { ...original, compileQuery: vi.fn(original.compileQuery) };
});
const compiled = vi.mocked(compileQuery);

// The real graphql-js, with its variable coercion watched: which requests the fast lane coerces before graphql-jit.
vi.mock('graphql', async (importOriginal) => {
  const original = await importOriginal<typeof import('graphql')>();
  return { ...original, getVariableValues: vi.fn(original.getVariableValues) };
});
const coerced = vi.mocked(getVariableValues);

/** A plugin an operator might write with a Yoga hook the runner does not know. */
class LegacyTracer {
  readonly name = 'legacy-tracer';
  onExecute(): void {}
  onFooBar(): void {}
}

/** Every hook the fast lane runs, each a no-op. */
function everyKnownHook(): Plugin {
  const noop = () => undefined;
  return {
    onRequest: noop,
    onRequestParse: noop,
    onResultProcess: noop,
    onResponse: noop,
    onParams: noop,
    onExecutionResult: noop,
    onEnveloped: noop,
    onContextBuilding: noop,
    onParse: noop,
    onValidate: noop,
    onExecute: noop,
    onSubscribe: noop,
    onPluginInit: noop,
    onYogaInit: noop,
    onSchemaChange: noop,
    onDispose: noop,
    instrumentation: {},
  } as Plugin;
}

describe('unrunnableHooks', () => {
  it('accepts every hook the lane runs, and plugins without hooks', () => {
    expect(unrunnableHooks([everyKnownHook(), {}, { name: 'named' } as Plugin])).toEqual([]);
  });

  it('accepts instrumentation: the runner wraps its steps with it as Yoga does', () => {
    const tracer = { name: 'tracer', instrumentation: { request: (_payload: unknown, wrapped: () => void) => wrapped(), operation: (_payload: unknown, wrapped: () => void) => wrapped() } };
    expect(unrunnableHooks([tracer as unknown as Plugin])).toEqual([]);
  });

  it.each<[string, object, string]>([
    ['an unknown hook', { onFooBar: () => undefined }, 'an unnamed plugin, #1 of 1 in Yoga\'s list (give it a `name`): onFooBar'],
    ['an unknown hook of a named plugin', { name: 'tracer', onExecute: () => undefined, onFooBar: () => undefined }, 'plugin "tracer": onFooBar'],
    ['an unknown hook beside instrumentation', { name: 'otel', instrumentation: {}, onRequestStart: () => undefined }, 'plugin "otel": onRequestStart'],
    ['an unknown hook of a plugin whose name is empty', { name: '', onFooBar: () => undefined }, 'an unnamed plugin, #1 of 1 in Yoga\'s list (give it a `name`): onFooBar'],
  ])('refuses %s', (_name, plugin, line) => {
    expect(unrunnableHooks([plugin as Plugin])).toEqual([line]);
  });

  it('names every refused hook of every plugin, by its name, else by its place in the list, skipping empty places', () => {
    const plugins = [everyKnownHook(), undefined, null, false, { onFooBar: () => undefined, onBarBaz: () => undefined }, { name: 'x', onQux: () => undefined }];
    const unnamed = "an unnamed plugin, #5 of 6 in Yoga's list (give it a `name`)";
    expect(unrunnableHooks(plugins as Plugin[])).toEqual([`${unnamed}: onFooBar`, `${unnamed}: onBarBaz`, 'plugin "x": onQux']);
  });

  it('looks only at functions named like hooks', () => {
    const plugin = { onFooBar: 'not a function', onBarBaz: undefined, online: () => undefined, offFooBar: () => undefined, setup: () => undefined };
    expect(unrunnableHooks([plugin as unknown as Plugin])).toEqual([]);
  });

  it('inspects a class instance, hooks as prototype methods included, down its inheritance', () => {
    expect(unrunnableHooks([new LegacyTracer() as unknown as Plugin])).toEqual(['plugin "legacy-tracer": onFooBar']);
    class Base {
      onBarBaz(): void {}
    }
    class Derived extends Base {
      onExecute(): void {}
    }
    expect(unrunnableHooks([new Derived() as unknown as Plugin])).toEqual(["an unnamed plugin, #1 of 1 in Yoga's list (give it a `name`): onBarBaz"]);
    class Known {
      onExecute(): void {}
      onResponse(): void {}
    }
    expect(unrunnableHooks([new Known() as unknown as Plugin])).toEqual([]);
  });
});

describe('createFastLane', () => {
  const logger = createLogger('silent');
  const make = (fastLane: boolean, plugins: Plugin[]) =>
    createInstance(readConfig({ FAST_LANE: String(fastLane), LOG_LEVEL: 'silent' }), { upstreamUrl: 'http://127.0.0.1:9', logger, plugins });

  it.each<[string, Plugin, RegExp]>([
    ['a class instance with an unknown hook', new LegacyTracer() as unknown as Plugin, /plugin "legacy-tracer": onFooBar/],
    ['a named plugin with a hook of a newer Yoga', { name: 'otel', instrumentation: {}, onRequestStart: () => undefined } as unknown as Plugin, /plugin "otel": onRequestStart/],
    ['a plugin with onFooBar', { onFooBar: () => undefined } as Plugin, /an unnamed plugin, #(\d+) of (\d+) in Yoga's list \(give it a `name`\): onFooBar/],
  ])('refuses %s with one line naming it, and the way out', async (_name, plugin, named) => {
    // The full lane serves the same gateway: Yoga runs every hook itself.
    const full = make(false, [plugin]);
    try {
      let thrown: unknown;
      try {
        createFastLane(full.gateway);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(FastLaneError);
      const { message } = thrown as FastLaneError;
      expect(message).toMatch(named);
      // An unnamed plugin's number is its place in Yoga's list, counted from 1.
      const [, place, count] = named.exec(message) ?? [];
      if (place !== undefined) {
        const yogaPlugins = (full.gateway as unknown as { plugins: unknown[] }).plugins;
        expect(Number(count)).toBe(yogaPlugins.length);
        expect(yogaPlugins[Number(place) - 1]).toBe(plugin);
      }
      expect(message).toMatch(/^the fast lane cannot run these plugin hooks: .*\. Set FAST_LANE=false to serve every request through Yoga's own handler\.$/);
      expect(message).not.toContain('\n');
      // As the process makes it, with FAST_LANE=true.
      expect(() => make(true, [plugin])).toThrow(FastLaneError);
    } finally {
      await full.close();
    }
  });

  it('takes the gateway’s own plugins, and plugins with known hooks only', async () => {
    class Timer {
      onExecute(): void {}
    }
    const instance = make(true, [everyKnownHook(), new Timer() as unknown as Plugin]);
    expect(instance.lane.readsBodyFirst).toBe(true);
    await instance.close();
  });

  it('refuses a Yoga instance whose plugins do not start with useEnvelopHooks(), as one made for the full lane', async () => {
    const full = make(false, []);
    try {
      expect(() => createFastLane(full.gateway)).toThrow(
        new FastLaneError('the fast lane needs useEnvelopHooks() registered before every other plugin of the gateway, to run the hooks envelop runs.'),
      );
    } finally {
      await full.close();
    }
  });

  it('serves requests through a plugin with every known hook', async () => {
    const seen: string[] = [];
    const plugin = everyKnownHook();
    plugin.onExecute = () => void seen.push('execute');
    plugin.onResponse = () => void seen.push('response');
    plugin.instrumentation = {
      request: (_payload, wrapped) => {
        seen.push('instrumentation.request');
        return wrapped();
      },
    };
    const harness = await Harness.start({ lane: 'fast', plugins: [plugin] });
    try {
      const response = await harness.query('{ execution(id: "ex_demo_6") { id status } }');
      expect(response.errors).toBeUndefined();
      expect(response.data).toEqual({ execution: { id: 'ex_demo_6', status: 'WORKFLOW_SUCCEEDED' } });
      expect(seen).toEqual(['instrumentation.request', 'execute', 'response']);
    } finally {
      await harness.close();
    }
  });
});

describe('npm start with a plugin the fast lane cannot run', () => {
  class Exited extends Error {
    constructor(readonly code: number | string | null | undefined) {
      super(`process.exit(${String(code)})`);
    }
  }

  afterEach(() => {
    vi.doUnmock('../src/pipeline/gateway.js');
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
    vi.resetModules();
  });

  it('stops with exit code 1 and one line naming the plugin and hook', async () => {
    // The process passes no plugins of its own; an operator's addition to the
    // gateway's list (src/pipeline/gateway.ts) is what this stands for.
    vi.resetModules();
    vi.doMock('../src/pipeline/gateway.js', async (importOriginal) => {
      const original = await importOriginal<typeof import('../src/pipeline/gateway.js')>();
      return {
        ...original,
        createGateway: (deps: Parameters<typeof original.createGateway>[0]) =>
          original.createGateway({ ...deps, plugins: [...(deps.plugins ?? []), new LegacyTracer() as unknown as Plugin] }),
      };
    });
    for (const [name, value] of Object.entries({ PORT: '0', HOST: '127.0.0.1', WORKERS: '1', FAST_LANE: 'true', LOG_LEVEL: 'silent', UPSTREAM_URL: 'http://127.0.0.1:9' })) {
      vi.stubEnv(name, value);
    }
    const exit = vi.spyOn(process, 'exit').mockImplementation(((code?: number | string | null) => {
      throw new Exited(code);
    }) as typeof process.exit);
    const written: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation(((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    }) as typeof process.stderr.write);

    const { run } = await import('../src/server/process.js');
    await expect(run()).rejects.toBeInstanceOf(Exited);
    expect(exit).toHaveBeenCalledWith(1);
    const lines = written.join('').split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^execution-gateway: the fast lane cannot run these plugin hooks: plugin "legacy-tracer": onFooBar\. Set FAST_LANE=false/);
  });
});

/** Upstream time and upstream's request ids differ from run to run; nothing else may. */
function normalise(text: string): string {
  return text.replace(/"timeMs":\d+/g, '"timeMs":0').replace(/"upstreamRequestId":"[^"]*"/g, '"upstreamRequestId":""');
}

const FAULTY_ID = 'ex_demo_2';

/**
 * Counts resolver calls by field, as a plugin that wraps resolvers (authorization, auditing, field metrics) sees them.
 * Wraps the schema's resolvers in place when Yoga hands it the schema, before anything is compiled.
 */
function resolverCounter(): { plugin: Plugin; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const wrapped = Symbol('counted');
  return {
    calls,
    plugin: {
      onSchemaChange({ schema }) {
        for (const type of Object.values(schema.getTypeMap())) {
          if (!isObjectType(type) || type.name.startsWith('__')) continue;
          for (const field of Object.values(type.getFields())) {
            const marked = field as typeof field & { [wrapped]?: true };
            if (marked[wrapped]) continue;
            marked[wrapped] = true;
            const resolve: GraphQLFieldResolver<unknown, unknown> = field.resolve ?? defaultFieldResolver;
            const name = `${type.name}.${field.name}`;
            field.resolve = (...args) => {
              calls.set(name, (calls.get(name) ?? 0) + 1);
              return resolve(...args);
            };
          }
        }
      },
    },
  };
}

describe('compiled execution', () => {
  const lanes = {} as Record<LaneName, Harness>;
  const counter = resolverCounter();

  beforeAll(async () => {
    for (const lane of LANES) lanes[lane] = await Harness.start({ lane, plugins: [counter.plugin] });
  });
  afterAll(() => Promise.all(LANES.map((lane) => lanes[lane].close())));
  beforeEach(() => {
    compiled.mockClear();
    for (const lane of LANES) {
      lanes[lane].upstream.reset();
      lanes[lane].upstream.setFault(FAULTY_ID, { kind: 'status', status: 404 });
    }
  });

  async function post(lane: LaneName, body: Record<string, unknown>): Promise<{ status: number; text: string; upstreamCalls: number }> {
    const harness = lanes[lane];
    const before = harness.upstream.requests.length;
    const response = await harness.fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: AUTH, 'x-request-id': 'fast-lane-test' },
      body: JSON.stringify(body),
    });
    return { status: response.status, text: normalise(await response.text()), upstreamCalls: harness.upstream.requests.length - before };
  }

  /** Requests that take a document past its warm-up: the last warm-up run on graphql-js, the run that compiles, one compiled. */
  const WARM = WARM_UP_RUNS + 2;

  /** Sends `body` to the fast lane as many times as its warm-up takes, so that the next request runs compiled if the document compiles at all. */
  async function warmUp(body: Record<string, unknown>): Promise<void> {
    for (let i = 0; i < WARM_UP_RUNS; i++) await post('fast', body);
  }

  const TWO_OPERATIONS = `query A { execution(id: "ex_demo_1") { id status } }
query B { executions(ids: ["ex_demo_6", "ex_demo_8"]) { id rawStatus isTerminal } }`;

  it.each(LANES)('runs the operation a request names, in a document holding two (%s lane)', async (lane) => {
    const a = await post(lane, { query: TWO_OPERATIONS, operationName: 'A' });
    const b = await post(lane, { query: TWO_OPERATIONS, operationName: 'B' });
    const again = await post(lane, { query: TWO_OPERATIONS, operationName: 'A' });
    expect(JSON.parse(a.text)).toMatchObject({ data: { execution: { id: 'ex_demo_1', status: 'AWAITING_PAYMENT' } } });
    expect(JSON.parse(b.text)).toEqual({
      data: {
        executions: [
          { id: 'ex_demo_6', rawStatus: 'workflow_succeeded', isTerminal: true },
          { id: 'ex_demo_8', rawStatus: 'workflow_cancelled', isTerminal: true },
        ],
      },
      extensions: { upstream: { calls: 2, cacheHits: 0, sharedCalls: 0, timeMs: 0 } },
    });
    expect(again).toEqual(a);
    expect([a.upstreamCalls, b.upstreamCalls]).toEqual([1, 2]);
  });

  it('compiles each operation of a document once, once warm, on the fast lane only', async () => {
    const query = 'query OnceA($id: ID!) { execution(id: $id) { id status } }\nquery OnceB($ids: [ID!]!) { executions(ids: $ids) { id rawStatus } }';
    const variables = { id: 'ex_demo_1', ids: ['ex_demo_6', 'ex_demo_8'] };
    // Each operation warms up on its own: OnceB's runs do not count for OnceA.
    for (let i = 0; i < WARM_UP_RUNS; i++) for (const operationName of ['OnceA', 'OnceB']) await post('fast', { query, operationName, variables });
    expect(compiled).not.toHaveBeenCalled();
    for (let i = 0; i < 2; i++) for (const operationName of ['OnceA', 'OnceB']) await post('fast', { query, operationName, variables });
    expect(compiled.mock.calls.map(([, , operationName]) => operationName)).toEqual(['OnceA', 'OnceB']);
    compiled.mockClear();
    await post('full', { query, operationName: 'OnceB', variables });
    expect(compiled).not.toHaveBeenCalled();
  });

  // The security review's document: 30 aliases spreading a fragment of every field and a page whose nodes spread
  // another. graphql-jit compiled each new text on its first run, for over half a second on the event loop where
  // graphql-js answered in a tenth of that; a new operation name made every text new, no token needed.
  const DETAILS = 'id status rawStatus isTerminal statusReason paymentStatus checkoutSessionId orderId externalRef idempotencyKey initiatedById initiatedByType organizationId runId workflowId sourceEntityId sourceEntityType sourceSystem clientSafeMetadata requestPayload responsePayload createdAt updatedAt startedAt finishedAt';
  const review = (name: string) =>
    `query ${name}($id: ID!) { ${Array.from({ length: OPERATION_LIMITS.maxAliases }, (_, i) => `a${i}: execution(id: $id) { ...E }`).join(' ')} }
fragment E on Execution { ${DETAILS} events(first: 1) { edges { node { id eventType level title execution { ...X } } } } }
fragment X on Execution { ${DETAILS} }`;
  const fieldsOf = (query: string) => {
    const document = parse(query);
    return expandedFields(document, getOperationAST(document)!);
  };

  it('never compiles a text on its first run, nor runs later than its warm-up (new operation names, no token needed)', async () => {
    const texts = [review('Review'), 'query Small($id: ID!) { execution(id: $id) { id status } }'];
    for (let i = 0; i < 3; i++) {
      for (const text of texts) {
        const query = text.replace(/^query (\w+)/, `query $1${i}x${Math.random().toString(36).slice(2)}`);
        const full = await post('full', { query, variables: { id: 'ex_demo_1' } });
        expect(JSON.parse(full.text).errors, full.text.slice(0, 300)).toBeUndefined();
        expect(await post('fast', { query, variables: { id: 'ex_demo_1' } })).toEqual(full);
      }
    }
    expect(compiled).not.toHaveBeenCalled();
  });

  it('runs a document of more than MAX_COMPILED_FIELDS expanded fields on graphql-js however often it is sent', async () => {
    const query = review('ReviewAgain');
    expect(fieldsOf(query)).toBeGreaterThan(MAX_COMPILED_FIELDS);
    const full = await post('full', { query, variables: { id: 'ex_demo_1' } });
    for (let i = 0; i < WARM; i++) expect(await post('fast', { query, variables: { id: 'ex_demo_1' } })).toEqual(full);
    expect(compiled).not.toHaveBeenCalled();
  });

  it('compiles a repeated document after WARM_UP_RUNS runs on graphql-js, once, at MAX_COMPILED_FIELDS and not past it', async () => {
    // Four aliases of a fragment of 24 fields: 4 × (1 + 24) expanded fields, one text of 312 characters.
    const fragment = `fragment F on Execution { ${DETAILS.split(' ').slice(0, 24).join(' ')} }`;
    const atBound = `query AtBound($id: ID!) { a0: execution(id: $id) { ...F } a1: execution(id: $id) { ...F } a2: execution(id: $id) { ...F } a3: execution(id: $id) { ...F } } ${fragment}`;
    const pastBound = atBound.replace('query AtBound($id: ID!) {', 'query PastBound($id: ID!) { __typename');
    expect([fieldsOf(atBound), fieldsOf(pastBound)]).toEqual([MAX_COMPILED_FIELDS, MAX_COMPILED_FIELDS + 1]);
    for (const query of [atBound, pastBound]) {
      const body = { query, variables: { id: 'ex_demo_4' } };
      const full = await post('full', body);
      for (let i = 0; i < WARM_UP_RUNS; i++) expect(await post('fast', body)).toEqual(full);
      expect(compiled).not.toHaveBeenCalled();
      for (let i = 0; i < 3; i++) expect(await post('fast', body)).toEqual(full);
      expect(compiled.mock.calls.map(([, , operationName]) => operationName ?? null)).toEqual(query === atBound ? [null] : []);
      compiled.mockClear();
    }
  });

  // Introspection is held to depth and aliases, not to the cost limit, and graphql-jit compiles a document by
  // its size with fragments expanded: 30 aliases of graphql-js's FullType fragment (4 KB, no token needed)
  // held the fast lane's event loop for seconds per new text, where graphql-js answered in a tenth of one.
  // Aliases of `__schema` are refused now (introspection fields take no aliases); those of `__type` are not.
  it('runs introspection on graphql-js, compiling none of it, with the full lane’s bytes', async () => {
    const standard = getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true, oneOf: true });
    const fullType = standard.slice(standard.indexOf('fragment FullType'));
    const types = ['Query', 'Execution', 'ExecutionEvent', 'ExecutionEventConnection', 'ExecutionUpdate'];
    const aliased = `query Aliased { ${Array.from({ length: OPERATION_LIMITS.maxAliases }, (_, i) => `a${i}: __type(name: "${types[i % types.length]}") { ...FullType }`).join(' ')} } ${fullType}`;
    const beside = 'query Beside { __type(name: "Execution") { name fields { name } } execution(id: "ex_demo_1") { id } }';
    for (const query of [standard, aliased, beside]) {
      const full = await post('full', { query });
      expect(JSON.parse(full.text).errors, full.text.slice(0, 300)).toBeUndefined();
      for (let i = 0; i < WARM; i++) expect(await post('fast', { query })).toEqual(full);
    }
    expect(compiled).not.toHaveBeenCalled();
  });

  // graphql-jit 0.8.9 writes a field's literal arguments into the code it compiles as JSON, then turns its own
  // markers back into values by text replacement (dist/execution.js, objectStringify): a string literal that
  // starts with the Date marker ended up as code, `new Date(<the rest of the string>)`, run on every request.
  // Any caller could run JavaScript in the gateway with one string; a literal equal to another marker became
  // NaN or Infinity instead of its text.
  const MARKERS = [
    '__MAGIC_DATE__33a9e76d_02e0_4128_8e92_3530ad3da74d',
    '__MAGIC_NAN__57f286b9_4c20_487f_b409_79804ddcb4f8',
    '__MAGIC_PLUS_INFINITY__bb201c39_3333_4695_b4ad_7f1722e7aa7a',
    '__MAGIC_MINUS_INFINITY__71d4310a_d4a3_4a05_b1fe_e60779d24998',
  ];
  const graphqlString = (text: string) => JSON.stringify(text);
  const ran = globalThis as { literalRan?: number };

  it.each<[string, (text: string) => string]>([
    ['an id', (text) => `{ execution(id: ${graphqlString(text)}) { id status } }`],
    ['a list of ids', (text) => `{ executions(ids: ["ex_demo_1", ${graphqlString(text)}]) { id } }`],
    ['a cursor', (text) => `{ execution(id: "ex_demo_4") { events(first: 2, after: ${graphqlString(text)}) { totalCount } } }`],
    ['a filter’s input object', (text) => `{ execution(id: "ex_demo_4") { events(filter: { levels: [${graphqlString(text)}] }) { totalCount } } }`],
  ])('never runs the text of a string literal in %s as code, and answers as the full lane does', async (_name, document) => {
    delete ran.literalRan;
    const injected = `${MARKERS[0]}0)&&(globalThis.literalRan=1)&&'ex_demo_1'||(0`;
    for (const text of [injected, ...MARKERS.slice(1)]) {
      const query = document(text);
      const full = await post('full', { query });
      for (let i = 0; i < WARM; i++) expect(await post('fast', { query }), text).toEqual(full);
    }
    // Upstream calls are part of what is compared: the injected id never reached upstream as ex_demo_1.
    expect(ran.literalRan).toBeUndefined();
  });

  it('compiles a document whose string literals are only in variable defaults (written as JSON, never replaced)', async () => {
    const query = 'query Defaulted($id: ID = "ex_demo_1") { execution(id: $id) { id } }';
    const full = await post('full', { query });
    for (let i = 0; i < WARM; i++) expect(await post('fast', { query })).toEqual(full);
    expect(compiled).toHaveBeenCalledTimes(1);
  });

  it('runs a document with any string literal argument on graphql-js: a property over ids, marker-prefixed ones included', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string(), fc.constantFrom(...MARKERS).chain((marker) => fc.string().map((rest) => marker + rest))), async (text) => {
        const query = `{ execution(id: ${graphqlString(text)}) { id } }`;
        expect(await post('fast', { query })).toEqual(await post('full', { query }));
      }),
      { numRuns: 40 },
    );
    expect(ran.literalRan).toBeUndefined();
    expect(compiled).not.toHaveBeenCalled();
  });

  /** The full lane's answer, and the fast lane's once the document runs compiled (past its warm-up). */
  async function both(body: Record<string, unknown>) {
    const full = await post('full', body);
    await warmUp(body);
    const fast = await post('fast', body);
    const errors = JSON.parse(fast.text) as { errors?: Array<{ locations?: unknown[] }> };
    expect(errors.errors?.length).toBeGreaterThan(0);
    // Located as graphql-js locates them (src/fast-lane/located-errors.ts).
    for (const error of errors.errors!) {
      // One location per field node merged under the error's key: two where a field is selected twice.
      expect(error.locations?.length, JSON.stringify(error)).toBeGreaterThan(0);
      for (const location of error.locations!) expect(location).toEqual({ line: expect.any(Number), column: expect.any(Number) });
    }
    return { full, fast };
  }

  it.each<[string, string, Record<string, unknown>?]>([
    ['an upstream 404 among three executions', 'query Failing { executions(ids: ["ex_demo_1", "ex_demo_2", "ex_demo_3"]) { id status } }'],
    ['an upstream 404 in a nested selection', 'query Nested {\n  ok: execution(id: "ex_demo_4") { id status }\n  gone: execution(id: "ex_demo_2") {\n    id\n    status\n  }\n}'],
    ['a refused page size', 'query Refused($n: Int!) { execution(id: "ex_demo_4") { id events(first: $n) { totalCount } } }', { n: 500 }],
    // Two non-null fields fail under one execution: graphql-js reports the first only.
    ['two refused pages under one execution', 'query TwoBad { execution(id: "ex_demo_4") { id a: events(after: "bad.x") { totalCount } b: events(before: "bad.y") { totalCount } } }'],
    ['a bad cursor in a fragment', 'query Cursor { execution(id: "ex_demo_long") { ...Page } } fragment Page on Execution { id events(first: 2, after: "bm9wZQ") { totalCount } }'],
    // Found by a differential fuzz of the lanes: graphql-jit dropped the trailing null when its error came first.
    ['a failing id after two good ones in a list', 'query Trailing { executions(ids: ["ex_demo_1", "ex_demo_1", "ex_missing"]) { id } }'],
    ['a failing id repeated before a good one', 'query Repeated { executions(ids: ["ex_missing", "ex_missing", "ex_demo_1"]) { id } }'],
    // Located at the field inside a fragment, spread twice or inline, as graphql-js collects fields.
    ['an upstream 404 inside a fragment spread twice', 'query Spread { ...Gone ...Gone } fragment Gone on Query { gone: execution(id: "ex_demo_2") { id status } }'],
    ['an upstream 404 inside an inline fragment, the field also outside it', 'query Inline { gone: execution(id: "ex_demo_2") { id } ... on Query { gone: execution(id: "ex_demo_2") { id status } } }'],
    ['an upstream 404 in a list under an alias', 'query Listed { many: executions(ids: ["ex_demo_1", "ex_demo_2"]) { ... on Execution { id } } }'],
  ])('answers %s with the full lane’s bytes, locations included, with no second upstream call', async (_name, query, variables) => {
    const { full, fast } = await both({ query, ...(variables ? { variables } : {}) });
    expect(fast).toEqual(full);
  });

  it.each<[string, string, Record<string, unknown>?]>([
    // Found by a differential fuzz of the lanes. graphql-jit merged the spreads before heeding @skip, and lost the field.
    ['a spread skipped, then the same spread', 'query Spread { execution(id: "ex_demo_1") { ...F @skip(if: true) ...F } } fragment F on Execution { id }'],
    // ... and put a field where its skipped first appearance was.
    ['a field skipped at its first appearance', 'query Order($id: ID!) { u0: execution(id: $id) { clientSafeMetadata @skip(if: true) ... { u1: id clientSafeMetadata } } }', { id: 'ex_demo_2' }],
    // graphql-jit refused a left-out non-null variable with a default ("Unexpected error.").
    ['a non-null variable with a default, left out', 'query Default($c: Boolean! = false) { execution(id: "ex_demo_1") { id status @include(if: $c) } }'],
    ['a spread included not, then the same spread', 'query Spread { execution(id: "ex_demo_1") { ...F @include(if: false) ...F } } fragment F on Execution { id }'],
    // graphql-jit treats an explicit null as not given, and ran with the default.
    ['a nullable id with a default, sent null where one is required', 'query Id($id: ID = "ex_demo_1") { execution(id: $id) { id } }', { id: null }],
  ])('answers %s with the full lane’s bytes, also once the document is warm', async (_name, query, variables) => {
    const body = { query, ...(variables ? { variables } : {}) };
    const full = await post('full', body);
    expect(JSON.parse(full.text).data, full.text).toBeTruthy();
    for (let i = 0; i < WARM; i++) expect(await post('fast', body)).toEqual(full);
  });

  // graphql-jit put a left-out variable's default in as its parsed value turned to JSON: the DateTime's Date
  // became a string the filter could not read, and the fast lane answered "Unexpected error.".
  it.each<[string, string]>([
    ['a DateTime variable', 'query Since($since: DateTime = "2026-03-01T14:03:03+02:00") { execution(id: "ex_demo_4") { events(filter: { createdAfter: $since }) { totalCount } } }'],
    ['an input object variable holding a DateTime', 'query Since($f: ExecutionEventFilter = { createdAfter: "2026-03-01T14:03:03+02:00" }) { execution(id: "ex_demo_4") { events(filter: $f) { totalCount } } }'],
  ])('applies the default of %s the request leaves out as the full lane does, also once warm', async (_name, query) => {
    for (const body of [{ query }, { query, variables: {} }]) {
      const full = await post('full', body);
      // Four of ex_demo_4's nine events come after 12:03:03Z.
      expect(JSON.parse(full.text), full.text).toMatchObject({ data: { execution: { events: { totalCount: 4 } } } });
      for (let i = 0; i < WARM; i++) expect(await post('fast', body)).toEqual(full);
    }
  });

  it('answers errors from several fields with the full lane’s data and errors', async () => {
    const query = `query Mixed($n: Int!) {
  ok: execution(id: "ex_demo_4") { id events(first: 2) { edges { node { id } } } }
  refused: execution(id: "ex_demo_4") { id events(first: $n) { totalCount } }
  missing: execution(id: "ex_demo_2") { id status }
}`;
    const { full, fast } = await both({ query, variables: { n: 500 } });
    expect([fast.status, fast.upstreamCalls]).toEqual([full.status, full.upstreamCalls]);
    // Errors in path order: the lanes may list errors of different fields in a different order
    // (GraphQL leaves the order in which fields complete open).
    const canonical = (text: string) => {
      const body = JSON.parse(text) as { errors: Array<{ path: unknown[] }> };
      return { ...body, errors: [...body.errors].sort((a, b) => JSON.stringify(a.path).localeCompare(JSON.stringify(b.path))) };
    };
    expect(canonical(fast.text)).toEqual(canonical(full.text));
  });

  it('runs each resolver once on a request with errors, as the full lane does', async () => {
    const query = 'query Once { a: execution(id: "ex_demo_1") { id status } b: execution(id: "ex_demo_2") { id } }';
    const counts: Record<string, unknown> = {};
    await warmUp({ query });
    for (const lane of LANES) {
      counter.calls.clear();
      const answer = await post(lane, { query });
      expect(JSON.parse(answer.text).errors).toHaveLength(1);
      counts[lane] = Object.fromEntries(counter.calls);
    }
    expect(counts['fast']).toEqual({ 'Query.execution': 2, 'Execution.id': 1, 'Execution.status': 1 });
    expect(counts['fast']).toEqual(counts['full']);
  });

  // Variables that every built-in scalar takes as sent skip graphql-js's coercion on the fast lane
  // (src/fast-lane/compiled-execution.ts); at and past each scalar's edge the answer is the full lane's.
  // No @skip or @include: a document with either runs on graphql-js, coercion and all.
  const SCALARS = 'query Scalars($id: ID!, $n: Int) { execution(id: $id) { id events(first: $n) { totalCount edges { cursor } } } }';
  const TEXT = 'query After($id: ID!, $after: String) { execution(id: $id) { id events(first: 1, after: $after) { totalCount } } }';
  it.each<[string, string, Record<string, unknown>, 'as sent' | 'coerced']>([
    ['every variable as its scalar takes it', SCALARS, { id: 'ex_demo_3', n: 2 }, 'as sent'],
    ['an Int at the largest 32-bit value', SCALARS, { id: 'ex_demo_3', n: 2_147_483_647 }, 'as sent'],
    ['an Int at the smallest 32-bit value', SCALARS, { id: 'ex_demo_3', n: -2_147_483_648 }, 'as sent'],
    ['an empty ID', SCALARS, { id: '', n: 1 }, 'as sent'],
    ['text for a String (a cursor that is none)', TEXT, { id: 'ex_demo_3', after: 'not-a-cursor' }, 'as sent'],
    ['an Int past the largest', SCALARS, { id: 'ex_demo_3', n: 2_147_483_648 }, 'coerced'],
    ['an Int past the smallest', SCALARS, { id: 'ex_demo_3', n: -2_147_483_649 }, 'coerced'],
    ['a fractional Int', SCALARS, { id: 'ex_demo_3', n: 1.5 }, 'coerced'],
    ['an integer ID, which graphql-js turns to text', SCALARS, { id: 3, n: 1 }, 'coerced'],
    ['a number for a String', TEXT, { id: 'ex_demo_3', after: 5 }, 'coerced'],
    ['a nullable variable null', SCALARS, { id: 'ex_demo_3', n: null }, 'coerced'],
    ['a nullable variable left out', SCALARS, { id: 'ex_demo_3' }, 'coerced'],
    ['a non-null variable left out', SCALARS, { n: 2 }, 'coerced'],
    ['a non-null variable null', SCALARS, { id: null, n: 2 }, 'coerced'],
  ])('answers %s as the full lane does, also once warm', async (_name, query, variables, fastLane) => {
    const full = await post('full', { query, variables });
    await warmUp({ query, variables });
    for (let i = 0; i < 2; i++) {
      coerced.mockClear();
      expect(await post('fast', { query, variables })).toEqual(full);
      // The fast lane's own coercion: graphql-js's execute calls its module's copy, which the mock does not replace.
      expect(coerced.mock.calls.length > 0 ? 'coerced' : 'as sent').toBe(fastLane);
    }
  });

  it.each<[string, string, Record<string, unknown>]>([
    // graphql-jit treats an explicit null as not given, and took @skip(if: null) as false.
    ['@skip(if: $s) with $s null', 'query Skip($s: Boolean = false) { execution(id: "ex_demo_1") { id status @skip(if: $s) } }', { s: null }],
    ['@include(if: $s) with $s null', 'query Include($s: Boolean = true) { execution(id: "ex_demo_1") { id ... on Execution @include(if: $s) { status } } }', { s: null }],
    // graphql-jit took an array for an input object.
    ['an array for an input object', 'query Filter($f: ExecutionEventFilter) { execution(id: "ex_demo_3") { events(filter: $f) { totalCount } } }', { f: [] }],
    ['a string for an Int', 'query Page($n: Int) { execution(id: "ex_demo_3") { events(first: $n) { totalCount } } }', { n: '2' }],
  ])('refuses %s as the full lane does', async (_name, query, variables) => {
    const full = await post('full', { query, variables });
    await warmUp({ query, variables });
    const fast = await post('fast', { query, variables });
    expect(fast).toEqual(full);
    expect(JSON.parse(fast.text).errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
  });
});
