/**
 * What to do about a peer certificate node refused, by its error code: OpenSSL's words alone (`self-signed
 * certificate`, `unable to verify the first certificate`) say nothing of how this process is told to trust a CA.
 * One table for both TLS peers, upstream (src/upstream/executions-client.ts) and Redis
 * (src/shared-state/redis-store.ts), each with its own setting and remedy.
 */

/** Node's codes for a certificate no CA the connection trusts signed. */
const UNTRUSTED_CODES = ['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERT_UNTRUSTED'] as const;

/** Whether node's error `code` says no CA the connection trusts signed the peer's certificate. */
export function untrustedCertificate(code: unknown): boolean {
  return (UNTRUSTED_CODES as readonly unknown[]).includes(code);
}

/**
 * The hints for the peer of the URL setting named `url` (`'UPSTREAM_URL'`, `'REDIS_URL'`), by node's error code
 * (`DEPTH_ZERO_SELF_SIGNED_CERT`, `CERT_HAS_EXPIRED`, …; a code not listed has none): `trust` says how to make its CA
 * trusted, `renew` who renews an expired certificate. Each hint is a sentence to follow node's own message.
 */
export function certificateHints(url: string, trust: string, renew: string): Readonly<Record<string, string>> {
  const untrusted = `the certificate of ${url}'s host is not signed by a CA this process trusts: ${trust}`;
  return {
    ...Object.fromEntries(UNTRUSTED_CODES.map((code) => [code, untrusted])),
    CERT_HAS_EXPIRED: `the certificate of ${url}'s host has expired (or this machine's clock is wrong): ${renew}`,
    CERT_NOT_YET_VALID: `the certificate of ${url}'s host is not valid yet (or this machine's clock is wrong)`,
  };
}
