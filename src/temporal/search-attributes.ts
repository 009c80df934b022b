import type { ConnectionLike } from '@temporalio/client';
import { TypedSearchAttributes, type SearchAttributeType } from '@temporalio/common';
// The SDK's own SearchAttributeType → proto IndexedValueType mapping (exported for registering attributes).
import {
  encodeSearchAttributeIndexedValueType,
  type SearchAttributeKey,
} from '@temporalio/common/lib/search-attributes';
import { SEARCH_ATTRIBUTES } from '../shared/search-attributes';

type Key = SearchAttributeKey<SearchAttributeType>;

/** The project's custom search attributes as `temporal server start-dev --search-attribute` values. */
export function searchAttributeFlags(keys: readonly Key[] = SEARCH_ATTRIBUTES): string[] {
  return keys.flatMap((key) => [
    '--search-attribute',
    `${key.name}=${TypedSearchAttributes.toMetadataType(key.type)}`,
  ]);
}

/** Names of `keys` that the namespace does not list yet; throws if one exists with another type. */
export async function missingSearchAttributes(
  connection: ConnectionLike,
  namespace: string,
  keys: readonly Key[] = SEARCH_ATTRIBUTES,
): Promise<Key[]> {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  const listed = customAttributes ?? {};
  const missing: Key[] = [];
  for (const key of keys) {
    const wanted = indexedValueType(key);
    if (!(key.name in listed)) missing.push(key);
    else if (listed[key.name] !== wanted) {
      throw new Error(
        `Search attribute ${key.name} exists in namespace ${namespace} with another type; this project needs ` +
          `${TypedSearchAttributes.toMetadataType(key.type)}. Use a namespace where ${key.name} is free or has that type.`,
      );
    }
  }
  return missing;
}

/**
 * Makes sure the namespace has the project's search attributes (the Web UI lists migrations by them, and a
 * workflow that upserts an unknown attribute fails its task). A plain `temporal server start-dev` lacks them.
 */
export async function ensureSearchAttributes(
  connection: ConnectionLike,
  namespace: string,
  keys: readonly Key[] = SEARCH_ATTRIBUTES,
): Promise<'present' | 'registered'> {
  const missing = await missingSearchAttributes(connection, namespace, keys);
  if (missing.length === 0) return 'present';
  const names = missing.map((key) => key.name);
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((key) => [key.name, indexedValueType(key)])),
    });
  } catch (err) {
    const typed = missing.map((key) => [key.name, TypedSearchAttributes.toMetadataType(key.type)] as const);
    throw new Error(
      `Could not register search attributes ${names.join(', ')} in namespace ${namespace}: ${(err as Error).message}. ` +
        'On Temporal Cloud, add them in the Cloud UI (Namespace → Custom Search Attributes) or with ' +
        `\`tcld namespace search-attributes add --namespace ${namespace} ` +
        typed.map(([name, type]) => `--search-attribute ${name}=${type}`).join(' ') +
        '`. On a self-hosted server, an admin can run ' +
        `\`temporal operator search-attribute create --namespace ${namespace} ` +
        typed.map(([name, type]) => `--name ${name} --type ${type}`).join(' ') +
        '`.',
      { cause: err },
    );
  }
  // Registration is asynchronous on some servers: wait (briefly) until the namespace lists them.
  const deadline = Date.now() + 10_000;
  while ((await missingSearchAttributes(connection, namespace, keys)).length > 0) {
    if (Date.now() > deadline) {
      throw new Error(
        `Search attributes ${names.join(', ')} were accepted but are still not listed after 10 s.`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return 'registered';
}

function indexedValueType(key: Key) {
  const encoded = encodeSearchAttributeIndexedValueType(key.type);
  if (encoded === undefined) throw new Error(`Search attribute ${key.name} has an unknown type ${key.type}`);
  return encoded;
}
