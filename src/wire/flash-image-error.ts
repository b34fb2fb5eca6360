/**
 * Why a flash personality image was refused. One class with a typed reason
 * (and a stable code derived from it), so the boot path, the CLI and the
 * tests branch on the reason, never on the message text. Not a BAD_ code:
 * a refused image is a failed check (CLI exit 1), not a usage error.
 */
import { ShoalError } from '../lib/errors.js';

export type FlashImageFailure =
  | 'bad-magic'
  | 'unknown-version'
  | 'truncated'
  | 'trailing-bytes'
  | 'too-large'
  | 'bad-header'
  | 'missing-section'
  | 'duplicate-section'
  | 'unknown-critical-section'
  | 'bad-section'
  | 'misplaced-signature'
  | 'unsigned'
  | 'unknown-algorithm'
  | 'wrong-signer'
  | 'bad-signature';

export class FlashImageError extends ShoalError {
  readonly reason: FlashImageFailure;
  constructor(reason: FlashImageFailure, detail: string) {
    super(`FLASH_${reason.toUpperCase().replace(/-/g, '_')}`, `flash image: ${detail}`);
    this.name = 'FlashImageError';
    this.reason = reason;
  }
}
