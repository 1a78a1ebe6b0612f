import { connect } from 'node:net';

/** Whether `port` on 127.0.0.1 accepts a TCP connection (a server started by a test is up). */
export function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
