/**
 * bcrypt passwords (docs/auth.md "Passwords"), with bcryptjs: pure JavaScript; its async calls
 * work in short slices between event-loop turns, so hashing (tens of ms at cost 10) never
 * blocks the member's I/O.
 */
import bcrypt from 'bcryptjs';
import { EtcdError } from '../errors/errors.js';

/** bcrypt uses at most 72 bytes of a password; longer ones are refused rather than truncated. */
export const BCRYPT_PASSWORD_BYTES_MAX = 72;

export function checkPasswordLength(password: string): void {
  if (Buffer.byteLength(password, 'utf8') > BCRYPT_PASSWORD_BYTES_MAX) throw new EtcdError('ETCD_ERR_AUTH_PASSWORD_TOO_LONG');
}

/** The base64 of the bcrypt hash, as AuthUserAddRequest.hashedPassword carries it. */
export async function hashPassword(password: string, cost: number): Promise<string> {
  checkPasswordLength(password);
  const h = await bcrypt.hash(password, cost);
  return Buffer.from(h, 'utf8').toString('base64');
}

/** Synchronous hash, for entries of old logs that carry a plain password (apply only). */
export function hashPasswordSync(password: string, cost: number): Uint8Array {
  return Buffer.from(bcrypt.hashSync(password.slice(0, 1024), cost), 'utf8');
}

export async function comparePassword(password: string, hash: Uint8Array | null | undefined): Promise<boolean> {
  if (hash === null || hash === undefined || hash.length === 0) return false;
  if (Buffer.byteLength(password, 'utf8') > BCRYPT_PASSWORD_BYTES_MAX) return false;
  return bcrypt.compare(password, Buffer.from(hash).toString('utf8'));
}
