/**
 * An inbound payload that is not what the platform sends. Normalisers throw only this, so the
 * trigger can answer with a clear 400 instead of an n8n stack trace.
 */
export class InvalidPayloadError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'InvalidPayloadError';
	}
}
