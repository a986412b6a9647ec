// Runs the GraphQL-over-HTTP audit suite of the npm package graphql-http
// against a govmobile server and prints the results as JSON on stdout:
// [{id, name, status, reason}]. Run by app.TestGraphQLOverHTTPAudit
// (GOVMOBILE_E2E=1), which decides what passes.
//
//   node e2e/graphql-http-audit.mjs http://127.0.0.1:8080/graphql
import { auditServer } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node graphql-http-audit.mjs URL');
  process.exit(2);
}
const results = await auditServer({ url });
console.log(JSON.stringify(results.map((r) => ({ id: r.id, name: r.name, status: r.status, reason: r.reason || '' }))));
