/**
 * The operations the gateway tells clients to send, held to the operation limits at start (OPERATION_MAX_*,
 * src/config.ts `LimitsCheck`): the typed client's (schema/operations/, as the manifest holds the text it sends) and,
 * while INTROSPECTION is on, the standard introspection query GraphiQL and codegen send. A limit set below what one of
 * them takes would answer it GRAPHQL_VALIDATION_FAILED (or GRAPHQL_PARSE_FAILED) on every request; start-up refuses it
 * instead, naming the setting and the least it takes.
 *
 * Exact, not a guess: each document is measured by the rules requests are refused by (./operation-limits.ts
 * `leastLimits`), and none of them reads a variable's value, so what a document takes is the same on every request.
 * Cheap: seven small documents, once.
 */
import { readFileSync } from 'node:fs';
import { getIntrospectionQuery, Kind, parse } from 'graphql';
import { SETTINGS, type OperationsConfig } from '../config.js';
import { schema } from '../schema/index.js';
import { leastLimits, type RuleSettings } from './operation-limits.js';
import { MANIFEST_URL } from './trusted-documents.js';

/** Each limit's setting, as its refusal names it: the name its declaration gives it. */
const settingOf = (limit: keyof OperationsConfig): string => SETTINGS.operations[limit].env;

/** graphql-js's introspection query, as codegen sends it and with every option GraphiQL may turn on. */
const INTROSPECTION_QUERIES = [
  getIntrospectionQuery(),
  getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true, oneOf: true }),
];

interface OwnDocument {
  /** How a refusal names it. */
  called: string;
  /** What to do besides raising the limit, when there is something. */
  otherwise?: string;
  text: string;
}

/** The typed client's operations as the manifest holds them; none when it cannot be read (TRUSTED_DOCUMENTS's own check names that file's fault). */
function clientDocuments(url: URL): OwnDocument[] {
  let manifest: unknown;
  try {
    manifest = JSON.parse(readFileSync(url, 'utf8'));
  } catch {
    return [];
  }
  if (typeof manifest !== 'object' || manifest === null) return [];
  return Object.values(manifest).flatMap((text): OwnDocument[] => {
    if (typeof text !== 'string') return [];
    let names: string[];
    try {
      names = parse(text, { noLocation: true }).definitions.flatMap((definition) => (definition.kind === Kind.OPERATION_DEFINITION && definition.name ? [definition.name.value] : []));
    } catch {
      return [];
    }
    return [{ called: `the typed client's ${names.join(', ')} operation (schema/operations/)`, text }];
  });
}

/**
 * Start-up's lines for the limits that would refuse one of the gateway's own operations under `settings`, one per
 * setting, naming the least it takes; undefined when none would. `url`: the manifest (tests pass their own).
 */
export function ownOperationsRefusal(settings: RuleSettings, url: URL = MANIFEST_URL): string | undefined {
  const documents = clientDocuments(url);
  if (settings.introspection) {
    for (const text of INTROSPECTION_QUERIES) {
      documents.push({ called: "the standard introspection query (graphql-js's, as GraphiQL and codegen send it)", otherwise: 'or set INTROSPECTION=false', text });
    }
  }
  const lines: string[] = [];
  const most = new Map<keyof OperationsConfig, { least: number; document: OwnDocument }>();
  for (const document of documents) {
    const least = leastLimits(schema, document.text);
    for (const limit of Object.keys(SETTINGS.operations) as Array<keyof OperationsConfig>) {
      if (least[limit] > settings.limits[limit] && least[limit] > (most.get(limit)?.least ?? -1)) most.set(limit, { least: least[limit], document });
    }
  }
  for (const [limit, { least, document }] of most) {
    lines.push(
      `${settingOf(limit)}=${settings.limits[limit]} would refuse ${document.called} on every request (it takes ${least}): set ${settingOf(limit)} to at least ${least}${document.otherwise ? `, ${document.otherwise}` : ''}.`,
    );
  }
  return lines.length > 0 ? lines.join('\n') : undefined;
}
