/**
 * Payload encryption: every payload the worker, the client and the CLI hand to Temporal (workflow inputs, results,
 * activity arguments and results, query and update answers, failure details) is sealed with AES-256-GCM before it
 * leaves the process, so the server (and whoever reads its database or its Web UI without the codec server) sees
 * ciphertext only. Modelled on temporalio/samples-typescript's encryption sample.
 *
 * Each encrypted payload carries `encoding: binary/encrypted` and `encryption-key-id: <id>` in its metadata; the id
 * derives from the key itself (the first 8 hex digits of its SHA-256), so no id needs configuring and a history
 * written with a previous key stays readable as long as that key is still listed (see PayloadKeys).
 *
 * The sealed bytes: a 12-byte random IV, the 16-byte GCM tag, then the ciphertext of the original payload (its
 * metadata and data, serialized as JSON with base64 values). The key id is authenticated as associated data.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, ValueError, type Payload, type PayloadCodec } from '@temporalio/common';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const METADATA_ENCRYPTION_KEY_ID = 'encryption-key-id';

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** The keys a codec knows: `current` encrypts; it and every `previous` one decrypt. */
export interface PayloadKeys {
  current: Buffer;
  previous: Buffer[];
}

/** The id of a key, as payload metadata names it: the first 8 hex digits of the key's SHA-256. */
export function keyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

/** An encrypted payload names a key this codec does not know (rotated out, or another deployment's). */
export class UnknownPayloadKeyError extends ValueError {
  override name = 'UnknownPayloadKeyError';
  constructor(readonly keyId: string) {
    super(
      `cannot decrypt a payload encrypted with key id ${keyId}: no configured key has that id ` +
        '(list the old key in ENI_MIGRATE_PAYLOAD_PREVIOUS_KEYS or in ENI_MIGRATE_PAYLOAD_KEY_FILE)',
    );
  }
}

export class EncryptionCodec implements PayloadCodec {
  private readonly keys = new Map<string, Buffer>();
  readonly currentKeyId: string;

  constructor(keys: PayloadKeys) {
    for (const key of [keys.current, ...keys.previous]) {
      if (key.length !== KEY_BYTES)
        throw new ValueError(`an AES-256 key is ${KEY_BYTES} bytes, not ${key.length}`);
      if (!this.keys.has(keyId(key))) this.keys.set(keyId(key), key);
    }
    this.currentKeyId = keyId(keys.current);
  }

  /** The ids of every key this codec decrypts with, the current one first. */
  get keyIds(): string[] {
    return [...this.keys.keys()];
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const id = this.currentKeyId;
    const key = this.keys.get(id)!;
    return payloads.map((payload) => ({
      metadata: {
        [METADATA_ENCODING_KEY]: Buffer.from(ENCRYPTED_ENCODING),
        [METADATA_ENCRYPTION_KEY_ID]: Buffer.from(id),
      },
      data: encrypt(serialize(payload), key, id),
    }));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
      if (!encoding || Buffer.from(encoding).toString() !== ENCRYPTED_ENCODING) return payload;
      const idBytes = payload.metadata?.[METADATA_ENCRYPTION_KEY_ID];
      if (!idBytes)
        throw new ValueError('cannot decrypt a payload without an encryption-key-id in its metadata');
      if (!payload.data) throw new ValueError('cannot decrypt a payload without data');
      const id = Buffer.from(idBytes).toString();
      const key = this.keys.get(id);
      if (!key) throw new UnknownPayloadKeyError(id);
      return deserialize(decrypt(Buffer.from(payload.data), key, id));
    });
  }
}

function encrypt(plain: Buffer, key: Buffer, id: string): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(id));
  const sealed = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), sealed]);
}

function decrypt(bytes: Buffer, key: Buffer, id: string): Buffer {
  if (bytes.length < IV_BYTES + TAG_BYTES) throw new ValueError('encrypted payload is too short');
  const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES));
  decipher.setAAD(Buffer.from(id));
  decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
  } catch {
    throw new ValueError(
      `cannot decrypt a payload with key id ${id}: it fails authentication (tampered or corrupt)`,
    );
  }
}

interface SerializedPayload {
  metadata: Record<string, string>;
  data?: string;
}

function serialize(payload: Payload): Buffer {
  const doc: SerializedPayload = {
    metadata: Object.fromEntries(
      Object.entries(payload.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
    ),
    ...(payload.data ? { data: Buffer.from(payload.data).toString('base64') } : {}),
  };
  return Buffer.from(JSON.stringify(doc));
}

function deserialize(bytes: Buffer): Payload {
  const doc = JSON.parse(bytes.toString('utf8')) as SerializedPayload;
  return {
    metadata: Object.fromEntries(
      Object.entries(doc.metadata).map(([k, v]) => [k, new Uint8Array(Buffer.from(v, 'base64'))]),
    ),
    data: new Uint8Array(Buffer.from(doc.data ?? '', 'base64')),
  };
}

/** The data converter of a worker or client: the encryption codec when keys are configured, else the default. */
export function dataConverterFor(
  keys: PayloadKeys | undefined,
): { payloadCodecs: PayloadCodec[] } | undefined {
  return keys ? { payloadCodecs: [new EncryptionCodec(keys)] } : undefined;
}
