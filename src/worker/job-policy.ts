import type { EndpointRegistry } from '../endpoints/registry.js';
import { SecretMasker } from '../endpoints/secrets.js';
import { compileSuccessRule, type SuccessRule } from '../endpoints/success-rule.js';
import { StandardWebhooksSigner } from '../signing/standard-webhooks.js';
import type { DeliveryJobData } from '../queue/job-data.js';
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

  async resolve(data: DeliveryJobData): Promise<JobPolicy> {
    const rule = data.ok === undefined ? DEFAULT_RULE : this.rules.get(JSON.stringify(data.ok), () => compileSuccessRule(data.ok));
    if (data.sg !== undefined || data.sk !== undefined) {
      // An inline target: everything comes from the job.
      const sg = data.sg;
      const signer = sg?.scheme === 'standard-webhooks' ? this.signers.get(sg.secret, () => new StandardWebhooksSigner(sg.secret)) : undefined;
      const masker = data.sk === undefined ? NO_SECRETS : this.maskers.get(JSON.stringify(data.sk), () => new SecretMasker(data.sk!));
      return { signer, signerMissing: false, rule, masker };
    }
    let ep = this.registry.find(data.ep);
    if (data.ws === 1 && ep?.webhookSigner === undefined) {
      await this.registry.refresh();
      ep = this.registry.find(data.ep);
    }
    const signer = data.ws === 1 ? ep?.webhookSigner : undefined;
    return { signer, signerMissing: data.ws === 1 && signer === undefined, rule, masker: ep?.masker ?? NO_SECRETS };
  }
}
