import { readFileSync } from 'node:fs';

/**
 * The FileDescriptorSet that server reflection serves: `npm run generate` builds
 * it with buf from proto/, beside the stubs, so it can never drift from them.
 * buf's descriptors are what grpcurl needs: fully-qualified type names, the
 * files' real paths and the proto's comments (shown by `grpcurl describe`).
 */
export function loadDescriptorSet(): Uint8Array {
  return readFileSync(new URL('../../gen/descriptor-set.binpb', import.meta.url));
}
