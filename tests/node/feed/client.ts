// A content tool on the change feed, with the Apollo Client stack of ../apollo.ts:
//   node build/feed/client.js URL render FACT_ID   → {version, statement}
//   node build/feed/client.js URL changes VERSION  → {from, to, changes}
// Each call is a new process, as a tool run once per publish would be.
import { ChangesSinceDocument, RenderedFactDocument } from "./generated/graphql.js";
import { type Exchange, makeClient, run } from "../apollo.js";

const [uri, mode, argument] = process.argv.slice(2);
if (uri === undefined || argument === undefined || (mode !== "render" && mode !== "changes")) {
  console.error("usage: node build/feed/client.js URL render FACT_ID | changes VERSION");
  process.exit(2);
}
const log: Exchange[] = [];
const client = makeClient(uri, log);
if (mode === "render") {
  const { data, errors } = await run(client, RenderedFactDocument, { id: argument });
  const statement = data?.fact?.statement ?? null;
  console.log(JSON.stringify({ version: data?.dataset.version ?? null, statement, errors }));
} else {
  const { data, errors } = await run(client, ChangesSinceDocument, { since: argument });
  console.log(JSON.stringify({ ...(data?.changes ?? {}), errors }));
}
