import { fileURLToPath } from 'node:url';
import { loadSync } from '@grpc/proto-loader';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';

/** proto/ at the project's root, beside src/. */
const protoRoot = fileURLToPath(new URL('../../proto/', import.meta.url));

/**
 * The FileDescriptorSet of chat.v1 that server reflection serves, built from the
 * .proto itself so that it can never drift from it.
 */
export function loadDescriptorSet(): Uint8Array {
  const definition = loadSync('chat/v1/chat.proto', { includeDirs: [protoRoot] });
  const anyMessage = definition['chat.v1.ClientEnvelope'] as { fileDescriptorProtos: Buffer[] };
  const writer = new BinaryWriter();
  // FileDescriptorSet { repeated FileDescriptorProto file = 1; }
  for (const file of anyMessage.fileDescriptorProtos) writer.tag(1, WireType.LengthDelimited).bytes(file);
  return writer.finish();
}
