import { builder } from './builder.js';
import { noteUnknownCharset } from './served.js';
import { MAX_EXECUTIONS_PER_REQUEST } from '../request/scope.js';
import { badUserInput } from '../errors.js';
import { ExecutionRef } from './execution-ref.js';
import { eventPagesBelow, refusedPage } from './refused-pages.js';
import type { Execution } from '../domain/execution.js';

builder.queryType({
  description: 'Read executions. Every field needs an `Authorization: Bearer <token>` header, forwarded to the executions API; without one, each field asked for is null with `UNAUTHENTICATED`, with no upstream call.',
  fields: (t) => ({
    execution: t.field({
      type: ExecutionRef,
      nullable: true,
      description:
        `One execution by id. Null with an error when it cannot be served: \`NOT_FOUND\` when the token cannot see it, \`UNAUTHENTICATED\` or \`FORBIDDEN\` when upstream refuses the token, an \`UPSTREAM_*\` code when upstream fails, \`BAD_USER_INPUT\` for an invalid id, for an \`events\` page below it that is refused, or when the request asks for more than ${MAX_EXECUTIONS_PER_REQUEST} distinct executions (aliases and \`executions(ids)\` counted together).`,
      args: {
        id: t.arg.id({ required: true, description: 'Execution id, e.g. `ex_acme_7`. An id outside the allowed pattern (`EXECUTION_ID_PATTERN`) is `BAD_USER_INPUT`, with no upstream call.' }),
      },
      resolve: (_root, { id }, context, info) => {
        const refused = refusedPage(eventPagesBelow(info), String(id));
        // A missing token or an invalid id (an empty route parameter, say) is named before the page: a cursor refused as
        // "of execution ex_a, not ''" sent the caller after the cursor, and the real error came only once that was mended.
        if (refused) throw context.loaders.execution.refusedBeforeCall(String(id)) ?? refused;
        return context.loaders.execution.load(String(id)).then((execution) => {
          noteUnknownCharset(execution, context, info);
          return execution;
        });
      },
    }),
    executions: t.field({
      type: [ExecutionRef],
      nullable: { list: false, items: true },
      description: `Several executions in one request, in the order of \`ids\`, read from upstream in parallel. Each id that fails is null in its place with its own error, the codes \`execution\` answers with (\`BAD_USER_INPUT\` for an invalid id, \`NOT_FOUND\`, \`UPSTREAM_*\` …); the others are unaffected. At most ${MAX_EXECUTIONS_PER_REQUEST} ids, repeats included; a repeated id is read once. More than ${MAX_EXECUTIONS_PER_REQUEST} ids is \`BAD_USER_INPUT\` on this field, which is non-null: \`data\` is then null.`,
      args: {
        ids: t.arg.idList({ required: true, description: `Execution ids, at most ${MAX_EXECUTIONS_PER_REQUEST}, repeats included (each distinct id is read once); more are \`BAD_USER_INPUT\`, with no upstream call.` }),
      },
      resolve: (_root, { ids }, context, info) => {
        if (ids.length > MAX_EXECUTIONS_PER_REQUEST) {
          throw badUserInput(`Argument \`ids\` holds ${ids.length} ids, repeats included; at most ${MAX_EXECUTIONS_PER_REQUEST} are allowed per request: send the rest in another request.`);
        }
        // loadMany settles every id, a failure as its Error, which graphql-js and graphql-jit both report
        // as that item's error (typed as an item neither way): a list of promises some of which reject
        // loses items on graphql-jit (0.8.9 drops a trailing null when its error comes first).
        const pages = eventPagesBelow(info);
        // A missing token or an invalid id is named before the page, as in `execution`.
        const refused = ids.map((id) => {
          const page = refusedPage(pages, String(id));
          return page && (context.loaders.execution.refusedBeforeCall(String(id)) ?? page);
        });
        const served = ids.filter((_id, index) => !refused[index]).map(String);
        return context.loaders.execution.loadMany(served).then((loaded) => {
          let next = 0;
          return ids.map((_id, index) => {
            const execution = refused[index] ?? loaded[next++]!;
            if (!(execution instanceof Error)) noteUnknownCharset(execution, context, info, index);
            return execution;
          });
        }) as Promise<Execution[]>;
      },
    }),
  }),
});
