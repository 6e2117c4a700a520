/**
 * Configures protobufjs' runtime to decode 64-bit integers as numbers (revisions, versions,
 * counts, TTLs; docs/decisions/0003-64-bit-ids.md). The ID fields (member, cluster, lease,
 * request IDs) do not go through this: scripts/gen-proto.mjs rewrites their generated code
 * to bigint. It must be evaluated before the generated
 * code (whose prototype defaults are built at load time), so src/api/pb.ts imports it
 * first: ES modules evaluate their imports in order.
 */
import protobuf from 'protobufjs/minimal.js';

protobuf.util.Long = undefined as unknown as typeof protobuf.util.Long;
protobuf.configure();
