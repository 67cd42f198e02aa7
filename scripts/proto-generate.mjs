// `npm run proto:generate`: the TypeScript client of the transcodely.v1 protos (proto/),
// generated with Debian's protoc and the npm registry's protoc-gen-es into gen/, which is
// not committed: every run proves the protos still generate.
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import path from "node:path";
import { PROTOBUF_INCLUDE, ensureDependencies, ensureProtoc, root } from "./bootstrap.mjs";

ensureDependencies();
ensureProtoc();
const protoDir = path.join(root, "proto");
const outDir = path.join(root, "gen");
const files = readdirSync(path.join(protoDir, "transcodely", "v1"))
  .filter((name) => name.endsWith(".proto"))
  .map((name) => path.join("transcodely", "v1", name));
rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir);
const result = spawnSync(
  "protoc",
  [
    `--proto_path=${protoDir}`,
    `--proto_path=${PROTOBUF_INCLUDE}`,
    `--plugin=protoc-gen-es=${path.join(root, "node_modules", ".bin", "protoc-gen-es")}`,
    `--es_out=${outDir}`,
    // TypeScript with extensionless relative imports, as the rest of the repository writes them.
    "--es_opt=target=ts,import_extension=none",
    ...files,
  ],
  { cwd: root, stdio: "inherit" },
);
if (result.error) throw result.error;
if (result.status !== 0) process.exit(result.status ?? 1);
console.log(`kiln: generated ${files.length} transcodely.v1 files into gen/`);
