// A publisher that accepts connections and requests and never answers (loopback only).
import { createServer } from 'node:http';

const server = createServer(() => {
  /* never answer */
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`READY ${server.address().port}\n`));
process.on('SIGTERM', () => {
  server.closeAllConnections();
  process.exit(0);
});
