/**
 * The one entry point to the generated protobuf code (src/pb/, built from proto/).
 *
 * protobufjs decodes int64 fields to `Long` objects when the `long` package is present.
 * etcd-ts uses plain numbers: revisions, versions, TTLs and our own member, cluster and
 * lease IDs all stay below 2^53 (see docs/decisions/0001-int64-as-number.md), and numbers
 * are several times cheaper on the hot path. So the runtime is configured without Long
 * here, before any generated code runs. Import pb types and codecs from this module only.
 */
import protobuf from 'protobufjs/minimal.js';

protobuf.util.Long = undefined as unknown as typeof protobuf.util.Long;
protobuf.configure();

export { etcdserverpb, mvccpb, authpb, v3lockpb, v3electionpb } from '../pb/etcd.js';
