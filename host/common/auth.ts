// The shared-secret check used by every endpoint and socket.io namespace (DESIGN.md, Security).
import { timingSafeEqual, createHash } from 'node:crypto';

/** Constant-time comparison; hashing first makes lengths equal so nothing leaks through timing. */
export function secretMatches(provided: unknown, expected: string): boolean {
  if (typeof provided !== 'string') return false;
  const a = createHash('sha256').update(provided).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** Extracts a secret from an Authorization header ("Bearer S") or a ?token= query value. */
export function secretFromHeaders(authorization: string | undefined, token: unknown): string | undefined {
  if (authorization?.startsWith('Bearer ')) return authorization.slice('Bearer '.length).trim();
  if (typeof token === 'string' && token.length > 0) return token;
  return undefined;
}

export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.replace(/^::ffff:/, '');
  return a === '::1' || a.startsWith('127.') || a === 'localhost';
}
