// The GraphQL-over-HTTP spec's own audit (graphql-http's serverAudits) against a live server.
// Usage: node audit.mjs http://127.0.0.1:PORT/graphql
// Prints one JSON object: {"results": [{"id", "name", "status", "reason"}...]}.
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs URL');
  process.exit(2);
}
const results = [];
for (const audit of serverAudits({ url })) {
  const result = await audit.fn();
  results.push({
    id: audit.id,
    name: audit.name,
    status: result.status,
    reason: result.status === 'ok' ? null : result.reason,
  });
}
console.log(JSON.stringify({ results }));
