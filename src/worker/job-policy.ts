import type { EndpointRegistry } from '../endpoints/registry.js';
import { SecretMasker } from '../endpoints/secrets.js';
import { compileSuccessRule, type SuccessRule } from '../endpoints/success-rule.js';
import { StandardWebhooksSigner } from '../signing/standard-webhooks.js';
import type { DecodedPolicy } from '../queue/job-data.js';
import { BoundedCache } from './bounded-cache.js';

const DEFAULT_RULE: SuccessRule = compileSuccessRule(undefined);
const NO_SECRETS = new SecretMasker([]);

/** What an attempt needs beyond the request: how to sign, what counts as success, what to mask. */
export interface JobPolicy {
  /** Undefined when the job asks for no signing. */
  readonly signer: StandardWebhooksSigner | undefined;
  /** True when the job asks for a registry endpoint's signer that no longer exists. */
  readonly signerMissing: boolean;
  readonly rule: SuccessRule;
  readonly masker: SecretMasker;
}

/**
 * Resolves a job's policy from compiled, cached objects: the registry endpoint's signer and
 * masker, or for inline targets ones built from the job's own data (cached, bounded).
 */
export class JobPolicies {
  private readonly registry: EndpointRegistry;
  private readonly signers = new BoundedCache<StandardWebhooksSigner>(1000);
  private readonly maskers = new BoundedCache<SecretMasker>(1000);
  private readonly rules = new BoundedCache<SuccessRule>(1000);

  constructor(registry: EndpointRegistry) {
    this.registry = registry;
  }

  async resolve(job: DecodedPolicy): Promise<JobPolicy> {
    const success = job.success;
    const rule = success === undefined ? DEFAULT_RULE : this.rules.get(JSON.stringify(success), () => compileSuccessRule(success));
    const { signing, inlineSecrets } = job;
    if ((signing !== undefined && signing !== 'endpoint') || inlineSecrets !== undefined) {
      // An inline target: everything comes from the job.
      const signer =
        signing !== undefined && signing !== 'endpoint' && signing.scheme === 'standard-webhooks'
          ? this.signers.get(signing.secret, () => new StandardWebhooksSigner(signing.secret))
          : undefined;
      const masker = inlineSecrets === undefined ? NO_SECRETS : this.maskers.get(JSON.stringify(inlineSecrets), () => new SecretMasker(inlineSecrets));
      return { signer, signerMissing: false, rule, masker };
    }
    let ep = this.registry.find(job.endpointId);
    if (signing === 'endpoint' && ep?.webhookSigner === undefined) {
      await this.registry.refresh();
      ep = this.registry.find(job.endpointId);
    }
    const signer = signing === 'endpoint' ? ep?.webhookSigner : undefined;
    return { signer, signerMissing: signing === 'endpoint' && signer === undefined, rule, masker: ep?.masker ?? NO_SECRETS };
  }
}
