import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { Agent, buildConnector } from 'undici';
import { TargetBlockedError } from './errors.js';
import { isBlockedAddress, type TargetPolicy } from './target-guard.js';

export interface AgentOptions {
  readonly policy: TargetPolicy;
  readonly connectTimeoutMs: number;
  /** Sockets per origin; requests over it wait in undici's queue. */
  readonly connectionsPerOrigin: number;
}

/**
 * The one undici Agent a process delivers through: keep-alive, no redirects (undici's
 * `request` follows none), and a connector that enforces the SSRF guard on the address it
 * actually dials: literal IPs before connecting, names inside DNS lookup (pinned: the
 * checked address is the one used).
 */
export function createDeliveryAgent(options: AgentOptions): Agent {
  const { policy } = options;
  const guardedLookup: LookupFunction = (hostname, lookupOptions, callback) => {
    dnsLookup(hostname, { ...lookupOptions, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 0);
      const allowed = addresses.filter((a) => !isBlockedAddress(a.address, policy));
      if (allowed.length === 0) {
        return callback(new TargetBlockedError(hostname, addresses[0]?.address ?? '?'), '', 0);
      }
      if ((lookupOptions as { all?: boolean }).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, allowed);
      const first = allowed[0] as LookupAddress;
      return callback(null, first.address, first.family);
    });
  };
  const base = buildConnector({
    timeout: options.connectTimeoutMs,
    ...(policy.allowPrivate ? {} : { lookup: guardedLookup }),
  });

  const connect: buildConnector.connector = (opts, callback) => {
    if (!policy.allowPrivate) {
      const host = opts.hostname.startsWith('[') ? opts.hostname.slice(1, -1) : opts.hostname;
      if (isIP(host) !== 0 && isBlockedAddress(host, policy)) {
        queueMicrotask(() => callback(new TargetBlockedError(host, host), null));
        return;
      }
    }
    return base(opts, callback);
  };

  return new Agent({
    connect,
    connections: options.connectionsPerOrigin,
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 60_000,
    pipelining: 1,
  });
}
