/**
 * GraphiQL served entirely by the gateway: @graphql-yoga/render-graphiql inlines
 * its scripts, styles and workers, so the page works offline and loads nothing
 * from a CDN (Yoga's default page does).
 */
import type { GraphiQLOptions } from 'graphql-yoga';

export const EXAMPLE_QUERY = `# Fetch one execution with the first page of its events.
query ExecutionPage($id: ID!) {
  execution(id: $id) {
    id
    status
    isTerminal
    statusReason
    updatedAt
    events(first: 5) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes { createdAt level eventType message }
    }
  }
}
`;

export interface GraphiQLSettings {
  /** Headers prefilled in the editor, e.g. the demo token. */
  headers?: Record<string, string>;
  /** Variables prefilled for EXAMPLE_QUERY. */
  exampleId?: string;
}

export function graphiqlOptions(settings: GraphiQLSettings): GraphiQLOptions {
  const variables = JSON.stringify({ id: settings.exampleId ?? 'ex_demo_4' }, null, 2);
  const headers = JSON.stringify(settings.headers ?? { Authorization: 'Bearer <your token>' }, null, 2);
  return {
    title: 'execution-gateway',
    defaultQuery: EXAMPLE_QUERY,
    // GraphiQL does not load the first default tab's variables and headers into
    // its editors (graphql/graphiql#3392); these top-level props do.
    headers,
    // Passed through to <GraphiQL>; Yoga's GraphiQLOptions type lacks it.
    ...({ variables } as Record<string, string>),
    defaultTabs: [{ query: EXAMPLE_QUERY, variables, headers }],
  };
}

/**
 * The bundle is 9 MB of JavaScript: load it on the first GraphiQL page view, not
 * at start-up, so the gateway starts fast and API-only processes never load it.
 */
export async function renderGraphiQL(options: GraphiQLOptions): Promise<string> {
  const { renderGraphiQL: render } = await import('@graphql-yoga/render-graphiql');
  return render(options);
}
