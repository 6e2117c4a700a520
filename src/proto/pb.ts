/**
 * The one entry point to the generated protobuf code (src/pb/, built from proto/).
 * int64/uint64 fields are plain numbers: './pb-runtime.js' configures that before the
 * generated module loads. Import pb types and codecs from this module only.
 */
import './pb-runtime.js';

export { etcdserverpb, mvccpb, authpb, v3lockpb, v3electionpb } from '../pb/etcd.js';
