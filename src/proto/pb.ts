/**
 * The one entry point to the generated protobuf code (src/pb/, built from proto/).
 * int64/uint64 fields are plain numbers, except the 64-bit IDs (member, cluster, lease and
 * request IDs), which are bigint (scripts/gen-proto.mjs ID64_FIELDS; docs/decisions/0003).
 * './pb-runtime.js' configures the numbers before the
 * generated module loads. Import pb types and codecs from this module only.
 */
import './pb-runtime.js';

export { etcdserverpb, mvccpb, authpb, v3lockpb, v3electionpb } from '../pb/etcd.js';
