/**
 * Configures protobufjs' runtime to decode 64-bit integers as numbers
 * (docs/decisions/0001-int64-as-number.md). It must be evaluated before the generated
 * code (whose prototype defaults are built at load time), so src/api/pb.ts imports it
 * first: ES modules evaluate their imports in order.
 */
import protobuf from 'protobufjs/minimal.js';

protobuf.util.Long = undefined as unknown as typeof protobuf.util.Long;
protobuf.configure();
