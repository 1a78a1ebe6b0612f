// What the key is (GET /v1/whoami): an operator's, or a publisher's and which publisher.
// The endpoint form fixes a publisher key's endpoints to its publisher.
import { apiJson } from './api-client.js';
import { showAuthState } from './api-key.js';

let pending = null;

/** Asks the API again (after a key was given); resolves to {kind, publisher_id?} or null. */
export function loadWhoami() {
  pending = apiJson('v1/whoami').then((who) => {
    showAuthState(who);
    return who;
  }, () => null);
  return pending;
}

/** What the current key is, as last asked. */
export function whoami() {
  return pending || loadWhoami();
}
