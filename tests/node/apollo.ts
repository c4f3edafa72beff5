// The Apollo Client stack the Node tests share: the normalized InMemoryCache (with the
// possibleTypes codegen generated), the persisted-query link (SHA-256 from node:crypto) and
// HttpLink, with a fetch that records every request and answer.
import { createHash } from "node:crypto";

import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from "@apollo/client";
import type { OperationVariables, TypedDocumentNode } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";

import possibleTypes from "./generated/possible-types.js";

/** One request as the server saw it, and what it answered. */
export interface Exchange {
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

export function makeClient(uri: string, log: Exchange[], useGETForHashedQueries = false): ApolloClient {
  const persisted = new PersistedQueryLink({ sha256, useGETForHashedQueries });
  const http = new HttpLink({ uri, fetch: recordingFetch(log) });
  return new ApolloClient({
    link: ApolloLink.from([persisted, http]),
    cache: new InMemoryCache({ possibleTypes: possibleTypes.possibleTypes }),
  });
}

/** A query's data and its error codes (errors are answers here, not exceptions). */
export async function run<TData, TVariables extends OperationVariables>(
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

