/**
 * Who is calling: an operator (a key from API_KEYS, or anyone on a keyless loopback server)
 * sees everything; a publisher key sees and acts on its own publisher's postbacks and
 * endpoints only.
 */
export type Principal =
  | { readonly kind: 'operator'; readonly actor: string }
  | { readonly kind: 'publisher'; readonly publisherId: string; readonly keyId: string; readonly actor: string };

/** The publisher a principal is confined to, or undefined for an operator. */
export function scopeOf(principal: Principal): string | undefined {
  return principal.kind === 'publisher' ? principal.publisherId : undefined;
}
