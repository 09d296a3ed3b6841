import * as grpc from '@grpc/grpc-js';
import { create, createFileRegistry, fromBinary, fromJson, toBinary, toJson, type FileRegistry, type JsonValue } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import reflectionPb from 'nice-grpc-server-reflection/lib/proto/grpc/reflection/v1/reflection_pb.js';

type Request = InstanceType<typeof reflectionPb.ServerReflectionRequest>;
type Response = InstanceType<typeof reflectionPb.ServerReflectionResponse>;

/**
 * What grpcurl does against a server that offers reflection, with nothing of
 * chat.v1 compiled in: list the services, fetch the file that defines a symbol
 * and every file it imports, then call a method with a request written as JSON
 * and print the answer as JSON (protojson, two-space indent, as grpcurl does).
 * `version` is the reflection package asked: grpcurl 1.8.8 and later try v1
 * first and fall back to v1alpha; older ones ask only v1alpha.
 */
export class ReflectionClient {
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<Request, Response>;
  private readonly waiting: Array<{ resolve: (r: Response) => void; reject: (e: Error) => void }> = [];
  private failed: Error | undefined;

  constructor(
    readonly address: string,
    version: 'v1' | 'v1alpha' = 'v1',
  ) {
    this.client = new grpc.Client(address, grpc.credentials.createInsecure());
    this.call = this.client.makeBidiStreamRequest(
      `/grpc.reflection.${version}.ServerReflection/ServerReflectionInfo`,
      (r: Request) => Buffer.from(r.serializeBinary()),
      (b: Buffer) => reflectionPb.ServerReflectionResponse.deserializeBinary(b),
    );
    this.call.on('data', (response: Response) => this.waiting.shift()?.resolve(response));
    this.call.on('error', (error: Error) => {
      this.failed = error;
      for (const w of this.waiting.splice(0)) w.reject(error);
    });
  }

  /** `grpcurl -plaintext ADDRESS list`: the service names, one a line. */
  async list(): Promise<string[]> {
    const response = await this.ask(new reflectionPb.ServerReflectionRequest().setListServices('*'));
    return response.getListServicesResponse()!.getServiceList().map((s) => s.getName());
  }

  /** The files that define `symbol`, with everything they import: what `grpcurl describe` builds on. */
  async registryFor(symbol: string): Promise<FileRegistry> {
    const files = new Map<string, Uint8Array>();
    const add = (response: Response) => {
      if (response.hasErrorResponse()) throw new Error(`reflection: ${response.getErrorResponse()!.getErrorMessage()}`);
      for (const bytes of response.getFileDescriptorResponse()!.getFileDescriptorProtoList_asU8()) {
        files.set(fromBinary(FileDescriptorProtoSchema, bytes).name, bytes);
      }
    };
    add(await this.ask(new reflectionPb.ServerReflectionRequest().setFileContainingSymbol(symbol)));
    for (let missing = this.missing(files); missing.length > 0; missing = this.missing(files)) {
      for (const name of missing) add(await this.ask(new reflectionPb.ServerReflectionRequest().setFileByFilename(name)));
    }
    const set = create(FileDescriptorSetSchema, { file: [...files.values()].map((b) => fromBinary(FileDescriptorProtoSchema, b)) });
    return createFileRegistry(set);
  }

  /** `grpcurl -plaintext -d JSON ADDRESS SERVICE/METHOD` for a unary method: the answer as grpcurl prints it. */
  async invoke(method: string, json: JsonValue = {}): Promise<string> {
    const desc = await this.method(method);
    const request = toBinary(desc.input, fromJson(desc.input, json));
    const answer = await new Promise<Buffer>((resolve, reject) =>
      this.client.makeUnaryRequest(`/${method}`, (b: Buffer) => b, (b: Buffer) => b, Buffer.from(request), (error, value) => (error ? reject(error) : resolve(value!))),
    );
    return JSON.stringify(toJson(desc.output, fromBinary(desc.output, answer)), null, 2);
  }

  /**
   * `grpcurl -plaintext -d @ ADDRESS SERVICE/METHOD` for a bidirectional stream
   * with `requests` on stdin: sends them all, half-closes (stdin's end), and
   * prints every answer until the server ends the call, with its status.
   */
  async stream(method: string, requests: JsonValue[]): Promise<{ printed: string; status: grpc.StatusObject }> {
    const desc = await this.method(method);
    const call = this.client.makeBidiStreamRequest(`/${method}`, (b: Buffer) => b, (b: Buffer) => b);
    const printed: string[] = [];
    call.on('data', (b: Buffer) => printed.push(JSON.stringify(toJson(desc.output, fromBinary(desc.output, b)), null, 2)));
    const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    // The status can come before the last messages are read: 'end' follows them.
    const ended = new Promise<void>((resolve) => call.on('end', resolve).on('error', () => resolve()));
    call.on('error', () => {}); // the status says it
    for (const json of requests) call.write(Buffer.from(toBinary(desc.input, fromJson(desc.input, json))));
    call.end();
    const [done] = await Promise.all([status, ended]);
    return { printed: printed.join('\n'), status: done };
  }

  private async method(method: string) {
    const [service, name] = method.split('/') as [string, string];
    const desc = (await this.registryFor(service)).getService(service)?.methods.find((m) => m.name === name);
    if (!desc) throw new Error(`${method} is not a method the server describes`);
    return desc;
  }

  close(): void {
    this.call.end();
    this.client.close();
  }

  private missing(files: Map<string, Uint8Array>): string[] {
    const wanted = [...files.values()].flatMap((b) => fromBinary(FileDescriptorProtoSchema, b).dependency);
    return [...new Set(wanted)].filter((name) => !files.has(name));
  }

  private ask(request: Request): Promise<Response> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.call.write(request);
    });
  }
}
