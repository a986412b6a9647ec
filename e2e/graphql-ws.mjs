// Subscribes to the server's live messages with the graphql-ws npm client
// (the graphql-transport-ws protocol) and prints the first message as JSON.
// Run by app.TestSubscriptionsWithGraphQLWS (GOVMOBILE_E2E=1): it prints
// "ready" once connected, then the test causes a message.
//
//   node e2e/graphql-ws.mjs ws://127.0.0.1:8080/graphql <ticket>
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [url, ticket] = process.argv.slice(2);
const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: { authorization: `Bearer ${ticket}` },
  lazy: false,
  retryAttempts: 0,
  on: { connected: () => console.log('ready') },
});
const timer = setTimeout(() => { console.error('no message within 20 s'); process.exit(1); }, 20000);
client.subscribe(
  { query: 'subscription { messageReceived { title body } }' },
  {
    next: (msg) => {
      if (msg.errors) {
        console.error(JSON.stringify(msg.errors));
        process.exit(1);
      }
      console.log(JSON.stringify(msg.data.messageReceived));
      clearTimeout(timer);
      client.dispose();
      process.exit(0);
    },
    error: (err) => { console.error(String(err && err.message || err)); process.exit(1); },
    complete: () => {},
  },
);
