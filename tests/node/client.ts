// A typed Apollo Client against a live clinic-kg server, as a web client would run it (the
// stack is in apollo.ts): what its normalized cache holds, the persisted-query protocol, and a
// server in safelist-only mode.
// Usage: node build/client.js URL normalized|persisted|safelist
// Prints one JSON object for tests/test_node_clients.py to assert on.
import {
  ClinicsDocument,
  ConditionPageDocument,
  DatasetDocument,
  FactsByIdsDocument,
  PagesDocument,
  SearchDocument,
} from "./generated/graphql.js";
import { type Exchange, makeClient, run } from "./apollo.js";

const FBSS = "failed-back-surgery-syndrome";

/** The same entities through different queries: one cache entry each, with merged fields. */
async function normalized(uri: string): Promise<unknown> {
  const log: Exchange[] = [];
  const client = makeClient(uri, log);
  const page = await run(client, ConditionPageDocument, { id: FBSS });
  const pages = await run(client, PagesDocument, {});
  const search = await run(client, SearchDocument, { text: "tylenol" });
  const statistic = page.data?.condition?.causes.edges
    .flatMap((edge) => edge.statistics)
    .map((s) => s.id)[0];
  const facts = await run(client, FactsByIdsDocument, { ids: statistic === undefined ? [] : [statistic] });
  // Read back from the cache alone: the fragment on the Node interface needs possibleTypes.
  const cachedSearch = client.readQuery({ query: SearchDocument, variables: { text: "tylenol" } });
  const cache = client.extract() as Record<string, Record<string, unknown>>;
  return {
    errors: [...page.errors, ...pages.errors, ...search.errors, ...facts.errors],
    statisticId: statistic ?? null,
    keys: Object.keys(cache).sort(),
    entries: cache,
    cachedSearch,
    factStatement: facts.data?.facts.edges[0]?.node.statement ?? null,
    requests: log,
  };
}

/** Automatic persisted queries: not found once, then registered, then hit by hash alone; by
 * POST, then with hashes sent by GET (the link retries with a POST). Operations no other mode
 * sends, so the server has never seen them. */
async function persisted(uri: string): Promise<unknown> {
  const postLog: Exchange[] = [];
  const post = makeClient(uri, postLog);
  const postAnswers = [await run(post, DatasetDocument, {}), await run(post, DatasetDocument, {})];
  const getLog: Exchange[] = [];
  const get = makeClient(uri, getLog, true);
  const getAnswers = [await run(get, ClinicsDocument, {}), await run(get, ClinicsDocument, {})];
  return {
    post: { requests: postLog, answers: postAnswers },
    get: { requests: getLog, answers: getAnswers },
  };
}

/** Against a server with CLINIC_KG_SAFELIST_ONLY: a registered operation, then another. */
async function safelist(uri: string): Promise<unknown> {
  const log: Exchange[] = [];
  const client = makeClient(uri, log);
  const registered = await run(client, PagesDocument, {});
  const unregistered = await run(client, SearchDocument, { text: "tylenol" });
  return { registered, unregistered, requests: log };
}

const MODES: Record<string, (uri: string) => Promise<unknown>> = { normalized, persisted, safelist };

const [uri, mode] = process.argv.slice(2);
const chosen = mode === undefined ? undefined : MODES[mode];
if (uri === undefined || chosen === undefined) {
  console.error(`usage: node build/client.js URL ${Object.keys(MODES).join("|")}`);
  process.exit(2);
}
console.log(JSON.stringify(await chosen(uri)));
