// Passwords are stored as bcrypt hashes (cost 10, ~70 ms here): slow for guessing, fine for a login.
import bcrypt from "bcryptjs";

export const MIN_PASSWORD_LENGTH = 8;

export async function hashPassword(password: string): Promise<string> {
  if (password.length < MIN_PASSWORD_LENGTH)
    throw new Error(`Passwords need at least ${MIN_PASSWORD_LENGTH} characters.`);
  return bcrypt.hash(password, 10);
}

export async function verifyPassword(password: string, hash: string | null | undefined): Promise<boolean> {
  if (!hash) return false;
  return bcrypt.compare(password, hash);
}
