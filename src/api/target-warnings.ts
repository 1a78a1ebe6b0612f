import type { Config } from '../config/schema.js';
import type { CompiledEndpoint } from '../endpoints/compile-endpoint.js';
import { isBlockedLiteralHost, parseCidrs } from '../delivery/target-guard.js';

/**
 * What to tell whoever writes an endpoint about its target, prepared once from the config:
 * a URL whose host is a loopback/private/link-local address the SSRF guard will refuse.
 */
export function targetWarnings(config: Pick<Config, 'allowPrivateTargets' | 'allowedTargetCidrs'>): (ep: CompiledEndpoint) => string[] {
  const policy = { allowPrivate: config.allowPrivateTargets, allowed: parseCidrs(config.allowedTargetCidrs) };
  return (ep) =>
    ep.definition.url !== undefined && isBlockedLiteralHost(ep.definition.url, policy)
      ? ['url host is a loopback/private/link-local address: deliveries will fail with error class "blocked" unless ALLOW_PRIVATE_TARGETS or ALLOWED_TARGET_CIDRS allow it']
      : [];
}
