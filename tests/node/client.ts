// A typed Apollo Client against a live clinic-kg server, as a web client would run it: the
// normalized InMemoryCache (with the possibleTypes codegen generated), the persisted-query link
// (SHA-256 from node:crypto) and HttpLink, with a fetch that records every request and answer.
// Usage: node build/client.js URL normalized|persisted|safelist
// Prints one JSON object for tests/test_node_clients.py to assert on.
import { createHash } from "node:crypto";

import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from "@apollo/client";
import type { OperationVariables, TypedDocumentNode } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";

import {
  ClinicsDocument,
  ConditionPageDocument,
  DatasetDocument,
  FactsByIdsDocument,
  PagesDocument,
  SearchDocument,
} from "./generated/graphql.js";
import possibleTypes from "./generated/possible-types.js";

const FBSS = "failed-back-surgery-syndrome";

/** One request as the server saw it, and what it answered. */
interface Exchange {
  method: string;
  operationName: string | null;
  sentQuery: string | null;
  sha256Hash: string | null;
  status: number;
  codes: string[];
}

interface GraphQLBody {
  query?: string;
  operationName?: string;
  extensions?: { persistedQuery?: { sha256Hash?: string } };
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

function requestOf(method: string, url: URL, body: string | null): GraphQLBody {
  if (method === "GET") {
    const extensions = url.searchParams.get("extensions");
    const parsed: GraphQLBody = {};
    const query = url.searchParams.get("query");
    const operationName = url.searchParams.get("operationName");
    if (query !== null) parsed.query = query;
    if (operationName !== null) parsed.operationName = operationName;
    if (extensions !== null) parsed.extensions = JSON.parse(extensions) as GraphQLBody["extensions"];
    return parsed;
  }
  return body === null ? {} : (JSON.parse(body) as GraphQLBody);
}

/** A fetch that records each exchange in `log`. */
function recordingFetch(log: Exchange[]): typeof fetch {
  return async (input, init) => {
    const url = new URL(typeof input === "string" ? input : input instanceof URL ? input.href : input.url);
    const method = (init?.method ?? "GET").toUpperCase();
    const body = typeof init?.body === "string" ? init.body : null;
    const sent = requestOf(method, url, body);
    const response = await fetch(input, init);
    const text = await response.clone().text();
    let codes: string[] = [];
    try {
      const answer = JSON.parse(text) as { errors?: { extensions?: { code?: string } }[] };
      codes = (answer.errors ?? []).map((e) => e.extensions?.code ?? "");
    } catch {
      codes = ["(not JSON)"];
    }
    log.push({
      method,
      operationName: sent.operationName ?? null,
      sentQuery: sent.query ?? null,
      sha256Hash: sent.extensions?.persistedQuery?.sha256Hash ?? null,
      status: response.status,
      codes,
    });
    return response;
  };
}

function makeClient(uri: string, log: Exchange[], useGETForHashedQueries = false): ApolloClient {
  const persisted = new PersistedQueryLink({ sha256, useGETForHashedQueries });
  const http = new HttpLink({ uri, fetch: recordingFetch(log) });
  return new ApolloClient({
    link: ApolloLink.from([persisted, http]),
    cache: new InMemoryCache({ possibleTypes: possibleTypes.possibleTypes }),
  });
}

/** A query's data and its error codes (errors are answers here, not exceptions). */
async function run<TData, TVariables extends OperationVariables>(
  client: ApolloClient,
  query: TypedDocumentNode<TData, TVariables>,
  variables: TVariables,
): Promise<{ data: TData | null; errors: string[] }> {
  const result = await client.query({
    query,
    variables,
    errorPolicy: "all",
    fetchPolicy: "network-only",
  });
  const error = result.error as { errors?: readonly { extensions?: { code?: unknown } }[] } | undefined;
  const errors = (error?.errors ?? []).map((e) => String(e.extensions?.code ?? ""));
  if (result.error !== undefined && errors.length === 0) errors.push(result.error.message);
  return { data: (result.data as TData | undefined) ?? null, errors };
}

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
